using System.Collections.Concurrent;
using CaStorage.Rpc;

namespace CaStorage.Cluster;

/// <summary>One multiplexed HTTP/2 connection (a <see cref="GrpcClient"/>) per peer, found by node id in the membership view.</summary>
internal sealed class PeerClients(ClusterMembership membership) : IDisposable
{
    private readonly ConcurrentDictionary<string, (string Endpoint, GrpcClient Client)> _clients = new(StringComparer.Ordinal);

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
        // Every routed call comes here: the common case is a look-up, nothing allocated.
        if (_clients.TryGetValue(node.NodeId, out var known) && known.Endpoint == node.RpcEndpoint) return known.Client;
        return _clients.AddOrUpdate(node.NodeId, _ => (node.RpcEndpoint, new GrpcClient(new Uri("http://" + node.RpcEndpoint))), (_, old) =>
        {
            if (old.Endpoint == node.RpcEndpoint) return old;
            old.Client.Dispose(); // the node came back on another address
            return (node.RpcEndpoint, new GrpcClient(new Uri("http://" + node.RpcEndpoint)));
        }).Client;
    }

    public void Dispose()
    {
        foreach (var c in _clients.Values) c.Client.Dispose();
        _clients.Clear();
    }
}
