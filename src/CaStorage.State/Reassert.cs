using CaStorage.State.Persistence;

namespace CaStorage.State;

/// <summary>
/// An open a client holds through this node, as the wire layer knows it: what it asked at CREATE, the oplock or
/// lease it holds now, its byte-range locks. A new shard owner rebuilds its file actors from these (ARCHITECTURE §3:
/// after a failover or a hand-off, the opens of clients on surviving nodes carry on).
/// </summary>
public sealed record ReassertedOpen(OpenRequest Request, byte Oplock, LeaseGrant? Lease, IReadOnlyList<LockRange> Locks, DurableGrant? Durable);

/// <summary>The opens whose clients are connected to this node (the SMB layer answers).</summary>
public interface IOpenDirectory
{
    IReadOnlyList<ReassertedOpen> ConnectedOpens(IReadOnlySet<int> shards);
}
