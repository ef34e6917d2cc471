namespace CaStorage.Admin;

/// <summary>Who this node is, as the admin API reports it.</summary>
/// <param name="Id">Node id (today the host name unless configured; in a cluster, CaStorage:Cluster:NodeId).</param>
public sealed record AdminNode(string Id, IReadOnlyList<string> SmbEndpoints, string AdminEndpoint, DateTimeOffset StartedAt, string Version);
