using CaStorage.Cluster.Rpc;
using CaStorage.Rpc;
using CaStorage.State;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Logging;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster;

/// <summary>
/// Breaks from this node's file actors to the node that holds the client's connection. An open's owner tag is
/// "node/connection": breaks for this node go to the local notifier, the others are sent (Breaks.Notify) without
/// waiting, since an actor never blocks.
/// </summary>
public sealed class ClusterNotifier : IClientNotifier, IDisposable
{
    private static readonly MethodDescriptor Notify =
        V1.ClusterReflection.Descriptor.Services.Single(s => s.Name == "Breaks").FindMethodByName("Notify");

    private readonly IClientNotifier _local;
    private readonly string _node;
    private readonly ILogger _log;
    private PeerClients? _peers;

    public ClusterNotifier(IClientNotifier local, string nodeId, ILogger log)
    {
        _local = local;
        _node = nodeId;
        _log = log;
    }

    internal void Attach(ClusterMembership membership) => _peers = new PeerClients(membership);

    /// <summary>The node of an owner tag "node#incarnation/connection" (this node when the tag has none).</summary>
    private bool IsLocal(string owner, out string node)
    {
        var slash = owner.IndexOf('/');
        var hash = owner.IndexOf('#');
        node = slash < 0 ? _node : owner[..(hash >= 0 && hash < slash ? hash : slash)];
        return node == _node;
    }

    public void OplockBreak(string owner, OpenId open, byte newLevel)
    {
        if (IsLocal(owner, out var node)) _local.OplockBreak(owner, open, newLevel);
        else Send(node, new V1.BreakNotice { Owner = owner, Open = open.Value, NewLevel = newLevel });
    }

    public void LeaseBreak(string owner, LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version)
    {
        if (IsLocal(owner, out var node)) _local.LeaseBreak(owner, lease, current, newState, newEpoch, ackRequired, version);
        else Send(node, new V1.BreakNotice
        {
            Owner = owner, Lease = ClusterWire.Of(lease), Current = (uint)current, NewState = (uint)newState, NewEpoch = newEpoch,
            AckRequired = ackRequired, Version = version,
        });
    }

    private void Send(string node, V1.BreakNotice notice)
    {
        if (_peers is null || !_peers.TryGet(node, out var client))
        {
            _log.LogWarning("cluster: break for {Owner} dropped: node {Node} is unknown", notice.Owner, node);
            return;
        }
        _ = SendAsync(client, notice);
    }

    private async Task SendAsync(GrpcClient client, V1.BreakNotice notice)
    {
        try
        {
            await client.MultiplexedUnaryAsync<V1.BreakNotice, V1.Empty>(Notify, notice, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            // The client's node is gone: its opens become disconnected when the owner learns it; the break times out.
            _log.LogWarning("cluster: break for {Owner} not delivered: {Reason}", notice.Owner, ex.Message);
        }
    }

    /// <summary>The receiving side: a peer's actor broke an open whose client is connected here.</summary>
    internal void Deliver(V1.BreakNotice n)
    {
        if (n.Lease is null) _local.OplockBreak(n.Owner, new OpenId(n.Open), (byte)n.NewLevel);
        else _local.LeaseBreak(n.Owner, ClusterWire.Of(n.Lease), (LeaseState)n.Current, (LeaseState)n.NewState, (ushort)n.NewEpoch, n.AckRequired, n.Version);
    }

    public void Dispose() => _peers?.Dispose();
}
