using CaStorage.Core;

namespace CaStorage.Cluster;

/// <summary>
/// PostgreSQL advisory lock keys (two int4 form: a class and an object). A node is alive while it holds its node
/// key; it owns shard s while it holds the shard key for s (ARCHITECTURE §3).
/// </summary>
internal static class AdvisoryKeys
{
    public const int NodeClass = 0x4341_0001;
    public const int ShardClass = 0x4341_0002;

    /// <summary>The object id of a node's liveness lock: a stable hash of its id (stored in its nodes row).</summary>
    public static int NodeObject(string nodeId) => unchecked((int)StableHash.Of(nodeId));
}
