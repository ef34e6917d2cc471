namespace CaStorage.Smb.Server;

/// <summary>
/// The credit sequence window (MS-SMB2 3.3.1.1, 3.3.5.2.3): message ids in [low, low+range) may be used once each;
/// responses grant more. The bitmap records used ids inside the window, as Samba's smb2 seqnum bitmap does.
/// </summary>
internal sealed partial class SmbConnection
{
    private readonly ulong[] _seqBitmap;
    private readonly ulong _seqBits;
    private readonly Lock _creditLock = new();
    private ulong _seqLow;
    private long _seqRange = 1;

    public long CreditsOutstanding { get { lock (_creditLock) return _seqRange; } }

    /// <summary>Consumes ids [messageId, messageId+charge). False means the id is outside the window or reused.</summary>
    internal bool TryConsumeCredits(ulong messageId, ushort charge)
    {
        var n = Math.Max((ushort)1, charge);
        lock (_creditLock)
        {
            if (messageId < _seqLow || messageId + n > _seqLow + (ulong)_seqRange || messageId + n < messageId) return false;
            for (ulong i = 0; i < n; i++)
                if (Used(messageId + i)) return false;
            for (ulong i = 0; i < n; i++) Mark(messageId + i, true);
            while (_seqRange > 0 && Used(_seqLow))
            {
                Mark(_seqLow, false);
                _seqLow++;
                _seqRange--;
            }
            return true;
        }
    }

    private bool Used(ulong id)
    {
        var bit = id % _seqBits;
        return (_seqBitmap[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
    }

    private void Mark(ulong id, bool used)
    {
        var bit = id % _seqBits;
        if (used) _seqBitmap[bit >> 6] |= 1UL << (int)(bit & 63);
        else _seqBitmap[bit >> 6] &= ~(1UL << (int)(bit & 63));
    }

    /// <summary>Grants credits for a response: what was asked (at least one), within the server's maximum.</summary>
    internal ushort GrantCredits(ushort requested, ushort charge)
    {
        lock (_creditLock)
        {
            var max = Server.Settings.MaxCredits;
            long want = Math.Max((int)requested, 1);
            // Windows and Samba always grant enough to keep the client going and never more than the cap.
            var room = max - _seqRange;
            var grant = Math.Clamp(want, 0, Math.Max(room, 0));
            if (grant == 0 && _seqRange == 0) grant = 1;
            _seqRange += grant;
            return (ushort)grant;
        }
    }
}
