using System.Collections.Concurrent;
using CaStorage.Rpc;

namespace CaStorage.Cluster;

/// <summary>One multiplexed HTTP/2 connection (a <see cref="GrpcClient"/>) per peer, found by node id in the membership view.</summary>
internal sealed class PeerClients(ClusterMembership membership) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcClient> _clients = new(StringComparer.Ordinal);

    public bool TryGet(string nodeId, out GrpcClient client)
    {
        client = null!;
        var node = membership.View.Nodes.FirstOrDefault(n => n.NodeId == nodeId);
        if (node is null || string.IsNullOrEmpty(node.RpcEndpoint)) return false;
        var uri = new Uri("http://" + node.RpcEndpoint);
        client = _clients.AddOrUpdate(nodeId, _ => new GrpcClient(uri), (_, old) =>
        {
            if (old.Address == uri) return old;
            old.Dispose(); // the node came back on another address
            return new GrpcClient(uri);
        });
        return true;
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Dispose();
        _clients.Clear();
    }
}
