using CaStorage.Core;
using CaStorage.State.Persistence;
using static CaStorage.State.Actors.FileActorProtocol;

namespace CaStorage.State.Actors;

/// <summary>
/// Every shard local (the embedded single-node default). Actors live in shard-partitioned tables, are created on
/// first use and retired when they hold nothing; a poster that finds a retired actor looks it up again.
/// </summary>
internal sealed partial class LocalFileStateService : IFileStateService, IShardHost
{
    public const int DefaultShardCount = OpenId.ShardCount;
    private readonly Dictionary<FileKey, FileActor>[] _shards;
    private readonly IClientNotifier _notifier;
    private readonly TimeProvider _time;
    // MS-SMB2 3.3.5.9.8: a client's lease key names one file; the index finds the file of a lease for acks.
    private readonly Dictionary<LeaseId, (FileKey File, int Opens)> _leaseIndex = new();
    private readonly DurableIndex _durable = new();
    private readonly DurabilityContext _durability;
    private int _active;

    public LocalFileStateService(int shardCount = DefaultShardCount, IClientNotifier? notifier = null, TimeProvider? time = null,
        StoreWriter? store = null, string node = "local")
    {
        _notifier = notifier ?? NullClientNotifier.Instance;
        _time = time ?? TimeProvider.System;
        _durability = new DurabilityContext(store, node, OnRemoved);
        _shards = new Dictionary<FileKey, FileActor>[shardCount];
        for (var i = 0; i < shardCount; i++) _shards[i] = new Dictionary<FileKey, FileActor>();
    }

    public int ActiveFileCount => Volatile.Read(ref _active);

    public int? ProposeHome(FileKey file, bool created) => null;

    private Dictionary<FileKey, FileActor> ShardOf(FileKey key) => _shards[StableHash.Shard(key, _shards.Length)];

    private void Send(FileKey key, Command cmd)
    {
        while (true)
        {
            var shard = ShardOf(key);
            FileActor actor;
            lock (shard)
            {
                if (!shard.TryGetValue(key, out actor!))
                {
                    actor = new FileActor(key, OnIdle, _notifier, _time) { Durability = _durability };
                    shard[key] = actor;
                    Interlocked.Increment(ref _active);
                }
                if (!actor.Retired)
                {
                    actor.Post(cmd);
                    return;
                }
            }
        }
    }

    private void OnIdle(FileActor actor)
    {
        var shard = ShardOf(actor.Key);
        lock (shard)
        {
            if (!actor.IsEmpty || actor.Retired) return;
            if (shard.TryGetValue(actor.Key, out var cur) && ReferenceEquals(cur, actor))
            {
                shard.Remove(actor.Key);
                Interlocked.Decrement(ref _active);
            }
            actor.MarkRetired();
        }
    }

    private static TaskCompletionSource<T> Tcs<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask<OpenDecision> OpenAsync(OpenRequest request, CancellationToken ct)
    {
        var lease = request.RequestedOplock == OplockLevel.Lease ? request.Lease : null;
        if (lease is not null && !RetainLease(lease.Id, request.File)) return new OpenDecision(OpenOutcome.InvalidParameter);
        var tcs = Tcs<OpenDecision>();
        Send(request.File, new RequestOpen(request, tcs));
        var decision = await tcs.Task.ConfigureAwait(false);
        if (lease is not null && decision.Lease is null) ReleaseLease(lease.Id);
        // DH2Q opens are replay-eligible whether or not durability was granted; DHnQ ones only when durable.
        if (request.Durable is { } d && decision.Outcome == OpenOutcome.Granted && (decision.Durable is not null || d.CreateGuid != Guid.Empty))
            _durable.Add(request.Open, request.File, d);
        return decision;
    }

    public async ValueTask<CloseOutcome> CloseAsync(FileKey file, OpenId open)
    {
        var tcs = Tcs<CloseOutcome>();
        Send(file, new Close(open, tcs));
        var outcome = await tcs.Task.ConfigureAwait(false);
        if (outcome.Lease is { } lease) ReleaseLease(lease);
        _durable.Remove(open);
        return outcome;
    }

    public Action<FileKey, ExpiredOpen>? OpenExpired { get; set; }

    /// <summary>From inside the actor: a disconnected open was closed by the state tier (expired or purged).</summary>
    private void OnRemoved(FileKey file, ExpiredOpen expired)
    {
        if (expired.Outcome.Lease is { } lease) ReleaseLease(lease);
        _durable.Remove(expired.Record.Id);
        OpenExpired?.Invoke(file, expired);
    }

    public async ValueTask<bool> DisconnectAsync(FileKey file, OpenId open, long position)
    {
        var tcs = Tcs<bool>();
        Send(file, new Disconnect(open, position, tcs));
        var kept = await tcs.Task.ConfigureAwait(false);
        if (kept) _durable.SetDisconnected(open, true);
        return kept;
    }

    public async ValueTask<ReconnectResult> ReconnectAsync(ReconnectRequest request)
    {
        if (!_durable.TryGet(request.Open, out var file) || !string.Equals(file.Share, request.Share, StringComparison.OrdinalIgnoreCase))
            return new ReconnectResult(NtStatus.ObjectNameNotFound);
        var tcs = Tcs<ReconnectResult>();
        Send(file, new Reconnect(request, tcs));
        var result = await tcs.Task.ConfigureAwait(false);
        if (result.Status == NtStatus.Success) _durable.SetDisconnected(request.Open, false);
        return result;
    }

    public async ValueTask UpdateDurablePathAsync(FileKey file, OpenId open, string path)
    {
        var tcs = Tcs<bool>();
        Send(file, new UpdatePath(open, path, tcs));
        await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<DurableOpenRecord?> GetDurableAsync(FileKey file, OpenId open)
    {
        var tcs = Tcs<DurableOpenRecord?>();
        Send(file, new QueryDurable(open, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }


    public int DisconnectedOpenCount => _durable.DisconnectedCount;

    public ValueTask<OpenLocation?> FindByCreateGuidAsync(Guid clientGuid, Guid createGuid) =>
        ValueTask.FromResult(_durable.TryGetByCreate(clientGuid, createGuid, out var open, out var file) ? new OpenLocation(open, file) : (OpenLocation?)null);

    public ValueTask<OpenLocation?> FindByAppInstanceAsync(Guid appInstanceId) =>
        ValueTask.FromResult(_durable.TryGetByApp(appInstanceId, out var open, out var file) ? new OpenLocation(open, file) : (OpenLocation?)null);

    public async Task<int> RestoreAsync(CancellationToken ct)
    {
        if (_durability.Writer is not { } writer) return 0;
        return await RestoreAsync(await writer.Store.LoadOpensAsync(_durability.Node, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// A cluster node took these shards: the durable opens of their files come back from the shared store (whichever
    /// node held their connections), disconnected until their clients reclaim them.
    /// </summary>
    public async Task<int> RestoreShardsAsync(IReadOnlySet<int> shards, CancellationToken ct)
    {
        if (_durability.Writer is not { } writer || shards.Count == 0) return 0;
        var records = await writer.Store.LoadOpensAsync(null, ct).ConfigureAwait(false);
        return await RestoreAsync(records.Where(r => shards.Contains(OpenId.ShardOf(r.File))).ToList()).ConfigureAwait(false);
    }

    /// <summary>
    /// The shard went to another node: its actors are dropped here (the new owner restores the durable state from
    /// the store). Volatile state of other nodes' opens in it is not carried over (yet).
    /// </summary>
    public void DropShard(int shard)
    {
        foreach (var d in _shards)
        {
            lock (d)
            {
                foreach (var (key, actor) in d.Where(kv => OpenId.ShardOf(kv.Key) == shard).ToList())
                {
                    d.Remove(key);
                    actor.MarkRetired();
                    Interlocked.Decrement(ref _active);
                }
            }
        }
        _durable.RemoveShard(shard);
        lock (_leaseIndex)
            foreach (var id in _leaseIndex.Where(kv => OpenId.ShardOf(kv.Value.File) == shard).Select(kv => kv.Key).ToList())
                _leaseIndex.Remove(id);
    }

    public void SetEpochSource(Func<int, long> epochOf) => _durability.Epochs = epochOf;

    public async Task MembersGoneAsync(IReadOnlyList<string> ownerPrefixes)
    {
        var actors = new List<FileActor>();
        foreach (var d in _shards)
            lock (d) actors.AddRange(d.Values);
        foreach (var a in actors)
        {
            var tcs = Tcs<(List<OpenId> Disconnected, List<(OpenId, LeaseId?)> Closed)>();
            Send(a.Key, new OwnersGone(ownerPrefixes, tcs));
            var (disconnected, closed) = await tcs.Task.ConfigureAwait(false);
            foreach (var id in disconnected) _durable.SetDisconnected(id, true);
            foreach (var (id, lease) in closed)
            {
                if (lease is { } l) ReleaseLease(l);
                _durable.Remove(id);
            }
        }
    }

    public async Task ReassertAsync(IReadOnlyList<ReassertedOpen> opens)
    {
        foreach (var o in opens)
        {
            var r = o.Request;
            if (o.Lease is { } l) RetainLease(l.Id, r.File);
            var tcs = Tcs<bool>();
            Send(r.File, new Reassert(o, tcs));
            var added = await tcs.Task.ConfigureAwait(false);
            if (!added && o.Lease is { } again) ReleaseLease(again.Id); // the restored open already counted it
            if (r.Durable is { } d) _durable.Add(r.Open, r.File, d);
            _durable.SetDisconnected(r.Open, false);
        }
    }

    private async Task<int> RestoreAsync(IReadOnlyList<DurableOpenRecord> records)
    {
        var restored = 0;
        foreach (var r in records)
        {
            if (r.Lease is { } l && !RetainLease(l.Id, r.File)) continue;
            var tcs = Tcs<bool>();
            Send(r.File, new Restore(r, tcs));
            if (!await tcs.Task.ConfigureAwait(false)) continue;
            _durable.Add(r.Id, r.File, r.ToDurableRequest());
            _durable.SetDisconnected(r.Id, true);
            restored++;
        }
        return restored;
    }

    /// <summary>Counts an open under a lease key; false if the client's key already names another file.</summary>
    private bool RetainLease(LeaseId id, FileKey file)
    {
        lock (_leaseIndex)
        {
            if (_leaseIndex.TryGetValue(id, out var e))
            {
                if (e.File != file) return false;
                _leaseIndex[id] = (file, e.Opens + 1);
            }
            else
            {
                _leaseIndex[id] = (file, 1);
            }
            return true;
        }
    }

    private void ReleaseLease(LeaseId id)
    {
        lock (_leaseIndex)
        {
            if (!_leaseIndex.TryGetValue(id, out var e)) return;
            if (e.Opens <= 1) _leaseIndex.Remove(id);
            else _leaseIndex[id] = (e.File, e.Opens - 1);
        }
    }

    public async ValueTask<(NtStatus Status, byte Level)> AckOplockAsync(FileKey file, OpenId open, byte level)
    {
        var tcs = Tcs<(NtStatus, byte)>();
        Send(file, new AckOplock(open, level, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> AckLeaseAsync(LeaseId lease, LeaseState state)
    {
        FileKey file;
        lock (_leaseIndex)
        {
            if (!_leaseIndex.TryGetValue(lease, out var e)) return NtStatus.ObjectNameNotFound;
            file = e.File;
        }
        var tcs = Tcs<NtStatus>();
        Send(file, new AckLease(lease, state, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> SetDeletePendingAsync(FileKey file, OpenId open, bool deletePending)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new SetDeletePending(open, deletePending, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<bool> IsDeletePendingAsync(FileKey file)
    {
        var tcs = Tcs<bool>();
        Send(file, new QueryDeletePending(tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> CheckRenameAsync(FileKey file, OpenId open)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new CheckRename(open, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> CheckReplaceAsync(FileKey file)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new CheckReplace(tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> ProbeShareAccessAsync(FileKey file, AccessMask access, ShareAccess share)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new ProbeShareAccess(access, share, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> LockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, bool failImmediately, CancellationToken ct,
        LockSequence? sequence = null)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new RequestLock(open, ranges, failImmediately, tcs) { Sequence = sequence });
        if (!failImmediately && ct.CanBeCanceled && !tcs.Task.IsCompleted)
        {
            await using var reg = ct.Register(() => Send(file, new CancelLock(tcs))).ConfigureAwait(false);
            return await tcs.Task.ConfigureAwait(false);
        }
        return await tcs.Task.ConfigureAwait(false);
    }

    public async ValueTask<NtStatus> UnlockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, LockSequence? sequence = null)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new Unlock(open, ranges, tcs) { Sequence = sequence });
        return await tcs.Task.ConfigureAwait(false);
    }

    public ValueTask<NtStatus> CheckIoAsync(FileKey file, OpenId open, ulong offset, ulong length, bool write)
    {
        // Fast path: no locks on the file, no message (reads and writes are the hot path).
        var shard = ShardOf(file);
        FileActor? actor;
        lock (shard) shard.TryGetValue(file, out actor);
        if (actor is null || (actor.LockCount == 0 && (!write || actor.ReadCacherCount == 0))) return ValueTask.FromResult(NtStatus.Success);
        return CheckIoSlowAsync(file, open, offset, length, write);
    }

    private async ValueTask<NtStatus> CheckIoSlowAsync(FileKey file, OpenId open, ulong offset, ulong length, bool write)
    {
        var tcs = Tcs<NtStatus>();
        Send(file, new CheckIo(open, offset, length, write, tcs));
        return await tcs.Task.ConfigureAwait(false);
    }

    public ValueTask BreakReadCachingAsync(FileKey file, OpenId open)
    {
        var shard = ShardOf(file);
        FileActor? actor;
        lock (shard) shard.TryGetValue(file, out actor);
        if (actor is null || actor.ReadCacherCount == 0) return ValueTask.CompletedTask;
        var tcs = Tcs<bool>();
        Send(file, new BreakReadCaching(open, tcs));
        return new ValueTask(tcs.Task);
    }

    public async ValueTask FileDeletedAsync(FileKey file)
    {
        var tcs = Tcs<bool>();
        Send(file, new Deleted(tcs));
        await tcs.Task.ConfigureAwait(false);
    }
}
