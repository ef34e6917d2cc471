using CaStorage.Core;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>ECHO (2.2.28), and the commands whose full behaviour comes with the locking issue.</summary>
internal static class SimpleHandlers
{
    public static ValueTask<NtStatus> EchoAsync(SmbRequest r)
    {
        r.Out.U16(4);
        r.Out.U16(0);
        return ValueTask.FromResult(NtStatus.Success);
    }

    /// <summary>CHANGE_NOTIFY needs the notification feed of the state tier (issue: locking/notify); refused clearly until then.</summary>
    public static ValueTask<NtStatus> ChangeNotifyAsync(SmbConnection c, SmbRequest r)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out var open);
        if (st != NtStatus.Success) return ValueTask.FromResult(st);
        return ValueTask.FromResult(open.IsDirectory ? NtStatus.NotImplemented : NtStatus.InvalidParameter);
    }

    /// <summary>No oplocks or leases are granted yet, so there is nothing to acknowledge.</summary>
    public static ValueTask<NtStatus> OplockBreakAsync(SmbConnection c, SmbRequest r) =>
        ValueTask.FromResult(NtStatus.InvalidOplockProtocol);
}
