using CaStorage.Core;

namespace CaStorage.State.Actors;

/// <summary>Messages a file actor processes, one at a time. Replies travel in the message.</summary>
internal static class FileActorProtocol
{
    internal abstract record Command;
    internal sealed record RequestOpen(OpenRequest Request, TaskCompletionSource<OpenDecision> Reply) : Command;
    internal sealed record Close(OpenId Open, TaskCompletionSource<CloseOutcome> Reply) : Command;
    internal sealed record SetDeletePending(OpenId Open, bool Value, TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record QueryDeletePending(TaskCompletionSource<bool> Reply) : Command;
    internal sealed record CheckRename(OpenId Open, TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record CheckReplace(TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record ProbeShareAccess(AccessMask Access, ShareAccess Share, TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record RequestLock(OpenId Open, IReadOnlyList<LockRange> Ranges, bool FailImmediately, TaskCompletionSource<NtStatus> Reply) : Command
    {
        public LockSequence? Sequence { get; init; }
    }
    internal sealed record CancelLock(TaskCompletionSource<NtStatus> Pending) : Command;
    internal sealed record Unlock(OpenId Open, IReadOnlyList<LockRange> Ranges, TaskCompletionSource<NtStatus> Reply) : Command
    {
        public LockSequence? Sequence { get; init; }
    }
    internal sealed record BreakReadCaching(OpenId Open, TaskCompletionSource<bool> Reply) : Command;
    internal sealed record CheckIo(OpenId Open, ulong Offset, ulong Length, bool Write, TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record AckOplock(OpenId Open, byte Level, TaskCompletionSource<(NtStatus, byte)> Reply) : Command;
    internal sealed record AckLease(LeaseId Lease, LeaseState State, TaskCompletionSource<NtStatus> Reply) : Command;
    internal sealed record BreakTimeout(object Target) : Command;
    internal sealed record Deleted(TaskCompletionSource<bool> Reply) : Command;
    // Durable and persistent opens (FileActor.Durable.cs).
    internal sealed record Disconnect(OpenId Open, long Position, TaskCompletionSource<bool> Reply) : Command;
    internal sealed record Reconnect(ReconnectRequest Request, TaskCompletionSource<ReconnectResult> Reply) : Command;
    internal sealed record Expire(OpenId Open, object Generation) : Command;
    internal sealed record Restore(Persistence.DurableOpenRecord Record, TaskCompletionSource<bool> Reply) : Command;
    internal sealed record UpdatePath(OpenId Open, string Path, TaskCompletionSource<bool> Reply) : Command;
    internal sealed record OwnersGone(IReadOnlyList<string> Prefixes, TaskCompletionSource<(List<OpenId> Disconnected, List<(OpenId, LeaseId?)> Closed)> Reply) : Command;
    internal sealed record Reassert(ReassertedOpen Open, TaskCompletionSource<bool> Reply) : Command;
    internal sealed record QueryDurable(OpenId Open, TaskCompletionSource<Persistence.DurableOpenRecord?> Reply) : Command;
}
