using System.Collections.Concurrent;
using CaStorage.Core;

namespace CaStorage.State.Actors;

/// <summary>
/// Finds the file of a durable open without a directory look-up: by persistent id (reconnect), by ClientGuid and
/// CreateGuid (replay detection), by App Instance Id (failover of a clustered application).
/// </summary>
internal sealed class DurableIndex
{
    private readonly record struct Entry(FileKey File, Guid ClientGuid, Guid CreateGuid, Guid AppInstanceId);

    private readonly ConcurrentDictionary<OpenId, Entry> _byId = new();
    private readonly ConcurrentDictionary<(Guid Client, Guid Create), OpenId> _byCreate = new();
    private readonly ConcurrentDictionary<Guid, OpenId> _byApp = new();
    private readonly ConcurrentDictionary<OpenId, bool> _disconnected = new();

    public int Count => _byId.Count;

    /// <summary>Durable opens whose connection is gone (metrics).</summary>
    public int DisconnectedCount => _disconnected.Count;

    public void SetDisconnected(OpenId id, bool disconnected)
    {
        if (disconnected && _byId.ContainsKey(id)) _disconnected[id] = true;
        else _disconnected.TryRemove(id, out _);
    }

    public void Add(OpenId id, FileKey file, DurableRequest d)
    {
        _byId[id] = new Entry(file, d.ClientGuid, d.CreateGuid, d.AppInstanceId);
        if (d.CreateGuid != Guid.Empty) _byCreate[(d.ClientGuid, d.CreateGuid)] = id;
        if (d.AppInstanceId != Guid.Empty) _byApp[d.AppInstanceId] = id;
    }

    public void Remove(OpenId id)
    {
        _disconnected.TryRemove(id, out _);
        if (!_byId.TryRemove(id, out var e)) return;
        if (e.CreateGuid != Guid.Empty) _byCreate.TryRemove(new KeyValuePair<(Guid, Guid), OpenId>((e.ClientGuid, e.CreateGuid), id));
        if (e.AppInstanceId != Guid.Empty) _byApp.TryRemove(new KeyValuePair<Guid, OpenId>(e.AppInstanceId, id));
    }

    public void RemoveShard(int shard)
    {
        foreach (var id in _byId.Where(kv => OpenId.ShardOf(kv.Value.File) == shard).Select(kv => kv.Key).ToList()) Remove(id);
    }

    public bool TryGet(OpenId id, out FileKey file)
    {
        var found = _byId.TryGetValue(id, out var e);
        file = e.File;
        return found;
    }

    public bool TryGetByCreate(Guid client, Guid create, out OpenId id, out FileKey file)
    {
        file = default;
        return _byCreate.TryGetValue((client, create), out id) && TryGet(id, out file);
    }

    public bool TryGetByApp(Guid app, out OpenId id, out FileKey file)
    {
        file = default;
        return _byApp.TryGetValue(app, out id) && TryGet(id, out file);
    }
}
