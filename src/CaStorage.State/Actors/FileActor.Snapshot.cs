using CaStorage.State.Inspection;

namespace CaStorage.State.Actors;

/// <summary>Asks an actor for a copy of its state (operators' view); answered in turn like every other message.</summary>
internal sealed record TakeSnapshot(TaskCompletionSource<FileStateSnapshot> Reply) : FileActorProtocol.Command;

internal sealed partial class FileActor
{
    private FileStateSnapshot DoSnapshot() => new(
        Key,
        _opens.Values.Select(e => new OpenStateView(e.Request.Open, e.Request.Access, e.Request.Share, e.Oplock, e.BreakingTo, e.Lease, e.Request.Owner,
            e.Durable is null ? null : Snapshot(e))).ToArray(),
        _locks.Select(l => new LockView(l.Open, l.Offset, l.Length, l.Exclusive)).ToArray(),
        _leases.Values.Select(l => new LeaseView(l.Id, l.State, l.Breaking ? l.BreakingToRequested : null, l.Epoch, l.Version, l.Opens, l.Owner)).ToArray(),
        _deletePending);
}
