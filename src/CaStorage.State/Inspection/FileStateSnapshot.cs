using CaStorage.Core;

namespace CaStorage.State.Inspection;

/// <summary>What one file actor holds at one moment (taken as a message, so it is consistent for that file).</summary>
public sealed record FileStateSnapshot(FileKey File, IReadOnlyList<OpenStateView> Opens, IReadOnlyList<LockView> Locks,
    IReadOnlyList<LeaseView> Leases, bool DeletePending);

/// <summary>
/// An open as the state tier records it: access and sharing, oplock, lease, the owner its breaks go to, and for a
/// durable or persistent open its stored record (DisconnectedAtMs set while no connection holds it).
/// </summary>
public readonly record struct OpenStateView(OpenId Open, AccessMask Access, ShareAccess Share, byte Oplock, byte? BreakingTo, LeaseId? Lease, string Owner,
    Persistence.DurableOpenRecord? Durable = null);

/// <summary>A granted byte-range lock.</summary>
public readonly record struct LockView(OpenId Open, ulong Offset, ulong Length, bool Exclusive);

/// <summary>A lease on the file; <paramref name="BreakingTo"/> is set while a break waits for its acknowledgement.</summary>
public sealed record LeaseView(LeaseId Id, LeaseState State, LeaseState? BreakingTo, ushort Epoch, int Version, int Opens, string Owner);

/// <summary>Read access to the state tier for operators (the admin API): every file that has coordination state.</summary>
public interface IFileStateInspector
{
    /// <summary>Shards of the state tier (N of hash(FileKey) mod N).</summary>
    int ShardCount { get; }

    /// <summary>Shards this node owns (all of them on a single node).</summary>
    IReadOnlyList<int> OwnedShards { get; }

    /// <summary>A snapshot of every active file actor, each consistent for its file (not across files).</summary>
    ValueTask<IReadOnlyList<FileStateSnapshot>> SnapshotAsync(CancellationToken ct);
}

/// <summary>A member of the cluster as the operators' view shows it (its shards are those it owns right now).</summary>
public sealed record ClusterMemberView(string NodeId, string SmbEndpoint, string State, bool Live, long StartedAtMs, IReadOnlyList<int> OwnedShards);

/// <summary>The cluster, for the admin API of a cluster node.</summary>
public interface IClusterInspector
{
    IReadOnlyList<ClusterMemberView> Members();

    /// <summary>Drain this node (its shards go to the others, new clients are refused) or undo it.</summary>
    Task DrainAsync(bool drain);

    /// <summary>This node's admin API as its peers reach it: (method, serialized request, caller, cancellation) to serialized response.</summary>
    Func<string, byte[], string, CancellationToken, Task<byte[]>>? AdminHandler { set; }

    /// <summary>The admin method on every other live node; their serialized responses (unreachable nodes are left out).</summary>
    Task<IReadOnlyList<byte[]>> CallOthersAsync(string method, byte[] request, CancellationToken ct);

    /// <summary>The admin method on one node by id; null when no live node has that id.</summary>
    Task<byte[]?> CallNodeAsync(string node, string method, byte[] request, CancellationToken ct);
}
