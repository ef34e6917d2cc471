namespace CaStorage.Smb.Server;

/// <summary>
/// The credit sequence window (MS-SMB2 3.3.1.1, 3.3.5.2.3): message ids in [low, low+range) may be used once each;
/// responses grant more. The bitmap records used ids inside the window, as Samba's smb2 seqnum bitmap does.
/// </summary>
internal sealed partial class SmbConnection
{
    private readonly bool[] _seqBitmap;
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
                if (_seqBitmap[(messageId + i) % (ulong)_seqBitmap.Length]) return false;
            for (ulong i = 0; i < n; i++) _seqBitmap[(messageId + i) % (ulong)_seqBitmap.Length] = true;
            while (_seqRange > 0 && _seqBitmap[_seqLow % (ulong)_seqBitmap.Length])
            {
                _seqBitmap[_seqLow % (ulong)_seqBitmap.Length] = false;
                _seqLow++;
                _seqRange--;
            }
            return true;
        }
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
