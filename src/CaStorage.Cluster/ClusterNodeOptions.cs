namespace CaStorage.Cluster;

/// <summary>What one node needs to take part in the cluster.</summary>
public sealed record ClusterNodeOptions
{
    public required string NodeId { get; init; }
    /// <summary>PostgreSQL (Npgsql form). The membership connection is opened from it unpooled, with TCP keepalives.</summary>
    public required string ConnectionString { get; init; }
    /// <summary>Where this node's cluster RPC (HTTP/2) listens, "ADDR:PORT".</summary>
    public string RpcEndpoint { get; init; } = "";
    /// <summary>Where peers reach it, "HOST:PORT" (a pod IP, a compose service name); default <see cref="RpcEndpoint"/>.</summary>
    public string? AdvertiseEndpoint { get; init; }
    /// <summary>Where clients reach this node's SMB service.</summary>
    public string SmbEndpoint { get; init; } = "";
    /// <summary>N of shard = hash(FileKey) mod N; fixed for the life of the cluster.</summary>
    public int ShardCount { get; init; } = 256;
    /// <summary>How often a node looks at the membership and its shards.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>
    /// Self-fencing deadline: a node that cannot complete a membership round trip within it stops serving. It must be
    /// shorter than PostgreSQL's own detection of a dead client (client_connection_check_interval plus TCP keepalive
    /// idle+interval*count, seconds in tests/lib/postgres.sh), so the node has stopped before another takes its shards.
    /// </summary>
    public TimeSpan FenceDeadline { get; init; } = TimeSpan.FromSeconds(2);
}
