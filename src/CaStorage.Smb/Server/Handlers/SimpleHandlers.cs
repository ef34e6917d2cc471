using CaStorage.Core;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>ECHO (2.2.28) and OPLOCK_BREAK acknowledgements (none can be due until oplocks are granted).</summary>
internal static class SimpleHandlers
{
    public static ValueTask<NtStatus> EchoAsync(SmbRequest r)
    {
        r.Out.U16(4);
        r.Out.U16(0);
        return ValueTask.FromResult(NtStatus.Success);
    }

    /// <summary>No oplocks or leases are granted yet, so there is nothing to acknowledge.</summary>
    public static ValueTask<NtStatus> OplockBreakAsync(SmbConnection c, SmbRequest r) =>
        ValueTask.FromResult(NtStatus.InvalidOplockProtocol);
}
