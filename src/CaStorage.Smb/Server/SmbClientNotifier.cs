using System.Collections.Concurrent;
using CaStorage.State;

namespace CaStorage.Smb.Server;

/// <summary>
/// Delivers the state tier's break notifications to the connection that holds the open (by connection id), or for a
/// lease whose first connection is gone, to another connection of the same client (ClientGuid).
/// </summary>
public sealed class SmbClientNotifier : IClientNotifier
{
    private readonly ConcurrentDictionary<string, SmbConnection> _connections = new();

    internal void Register(SmbConnection c) => _connections[c.Id] = c;
    internal void Unregister(SmbConnection c) => _connections.TryRemove(new KeyValuePair<string, SmbConnection>(c.Id, c));

    /// <summary>Connections registered now (every live SMB connection of this node).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>The connection part of an owner tag ("node/connection" in a cluster, "connection" alone on one node).</summary>
    private static string ConnectionOf(string owner) => owner[(owner.LastIndexOf('/') + 1)..];

    public void OplockBreak(string owner, OpenId open, byte newLevel)
    {
        if (_connections.TryGetValue(ConnectionOf(owner), out var c)) c.SendOplockBreak(open, newLevel);
    }

    public void LeaseBreak(string owner, LeaseId lease, LeaseState current, LeaseState newState, ushort newEpoch, bool ackRequired, int version)
    {
        if (!_connections.TryGetValue(ConnectionOf(owner), out var c) || c.ClientGuid != lease.ClientGuid)
            c = _connections.Values.FirstOrDefault(x => x.ClientGuid == lease.ClientGuid && x.Negotiated);
        c?.SendLeaseBreak(lease, current, newState, newEpoch, ackRequired, version);
    }
}
