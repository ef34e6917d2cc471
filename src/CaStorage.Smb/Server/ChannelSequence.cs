using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server;

/// <summary>
/// MS-SMB2 3.3.5.2.10, Verifying the Channel Sequence Number (SMB 3.x). A client that moves to another channel after a
/// failure raises ChannelSequence; requests of the old channel that arrive late are stale, and the modifying ones
/// (WRITE, SET_INFO, IOCTL) fail with STATUS_FILE_NOT_AVAILABLE so they cannot undo what the new channel did.
/// Outstanding requests are counted per sequence so a replay is only accepted when nothing of an older one is left.
/// </summary>
internal sealed class ChannelSequenceState
{
    private readonly Lock _lock = new();
    private ushort _sequence;
    private int _requests;
    private int _preRequests;

    /// <summary>Admits a request on the open; on success the request must be <see cref="Leave"/>d when it completes.</summary>
    public NtStatus Enter(ushort sequence, bool replay, bool modifying, out bool counted)
    {
        counted = false;
        lock (_lock)
        {
            // Unsigned 16-bit difference: at most 0x7FFF ahead is newer, anything else is stale (wrap-around aware).
            var diff = (ushort)(sequence - _sequence);
            var newer = diff is > 0 and <= 0x7FFF;
            if (diff == 0 && (!replay || _preRequests == 0))
            {
                _requests++;
                counted = true;
            }
            else if (newer && (!replay || _preRequests == 0))
            {
                _preRequests += _requests;
                _requests = 1;
                _sequence = sequence;
                counted = true;
            }
            else if (modifying)
            {
                return NtStatus.FileNotAvailable;
            }
            return NtStatus.Success;
        }
    }

    public void Leave(ushort sequence)
    {
        lock (_lock)
        {
            if (sequence == _sequence && _requests > 0) _requests--;
            else if (_preRequests > 0) _preRequests--;
        }
    }

    internal static bool IsModifying(SmbCommand command) => command is SmbCommand.Write or SmbCommand.SetInfo or SmbCommand.Ioctl;
}
