using System.Collections.Concurrent;
using CaStorage.Rpc;

namespace CaStorage.Cluster;

/// <summary>One multiplexed HTTP/2 connection (a <see cref="GrpcClient"/>) per peer, found by node id in the membership view.</summary>
internal sealed class PeerClients(ClusterMembership membership) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcClient> _clients = new(StringComparer.Ordinal);

    public bool TryGet(string nodeId, out GrpcClient client)
    {
        var node = membership.View.Nodes.FirstOrDefault(n => n.NodeId == nodeId);
        client = node is null ? null! : ClientOf(node)!;
        return client is not null;
    }

    /// <summary>The client of every other node the membership view has as live.</summary>
    public IEnumerable<(string NodeId, GrpcClient Client)> OtherLive()
    {
        foreach (var node in membership.View.Nodes)
            if (node.Live && node.NodeId != membership.NodeId && ClientOf(node) is { } client)
                yield return (node.NodeId, client);
    }

    private GrpcClient? ClientOf(ClusterNode node)
    {
        if (string.IsNullOrEmpty(node.RpcEndpoint)) return null;
        var uri = new Uri("http://" + node.RpcEndpoint);
        return _clients.AddOrUpdate(node.NodeId, _ => new GrpcClient(uri), (_, old) =>
        {
            if (old.Address == uri) return old;
            old.Dispose(); // the node came back on another address
            return new GrpcClient(uri);
        });
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
        _clients.Clear();
    }
}
