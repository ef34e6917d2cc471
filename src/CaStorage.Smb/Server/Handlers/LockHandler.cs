using CaStorage.Core;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>LOCK (2.2.26): byte-range locks live in the file actors (locking issue); until then refused, never faked.</summary>
internal static class LockHandler
{
    public static ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var st = HandlerUtil.TryResolveOpen(c, r, 8, out _);
        return ValueTask.FromResult(st != NtStatus.Success ? st : NtStatus.NotSupported);
    }
}
