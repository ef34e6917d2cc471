using System.Collections.Concurrent;
using CaStorage.State;

namespace CaStorage.Smb.Server;

/// <summary>
/// Delivers the state tier's break notifications: an oplock break to the connection that holds the open (by
/// connection id), a lease break to the oldest connection of the lease's client (ClientGuid), as Windows and Samba
/// do (MS-SMB2 3.3.4.7; smb2.lease.v2_complex1 expects it there even for a lease taken on a later channel).
/// </summary>
public sealed class SmbClientNotifier : IClientNotifier
{
    private readonly ConcurrentDictionary<string, SmbConnection> _connections = new();
    private readonly ConcurrentDictionary<string, long> _order = new();
    private long _registered;

    internal void Register(SmbConnection c)
    {
        _order[c.Id] = Interlocked.Increment(ref _registered);
        _connections[c.Id] = c;
    }

    internal void Unregister(SmbConnection c)
    {
        if (_connections.TryRemove(new KeyValuePair<string, SmbConnection>(c.Id, c))) _order.TryRemove(c.Id, out _);
    }

    /// <summary>Drops every client connection (a fenced cluster node must stop serving at once).</summary>
    public void AbortAll()
    {
        foreach (var c in _connections.Values) c.Abort();
    }

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
        SmbConnection? oldest = null;
        var oldestOrder = long.MaxValue;
        foreach (var (id, c) in _connections)
        {
            if (c.ClientGuid != lease.ClientGuid || !c.Negotiated || !_order.TryGetValue(id, out var order) || order >= oldestOrder) continue;
            oldest = c;
            oldestOrder = order;
        }
        if (oldest is null && _connections.TryGetValue(ConnectionOf(owner), out var byOwner)) oldest = byOwner;
        oldest?.SendLeaseBreak(lease, current, newState, newEpoch, ackRequired, version);
    }
}
