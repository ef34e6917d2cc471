using CaStorage.Cluster.Rpc;
using CaStorage.Core;
using CaStorage.Rpc;
using CaStorage.State;
using CaStorage.State.Persistence;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using V1 = CaStorage.Cluster.V1;
using static CaStorage.Cluster.Rpc.ClusterWire;

namespace CaStorage.Cluster;

/// <summary>
/// The state tier of a cluster node: a call for a file goes to the file actor of the node that owns the file's
/// shard — here when this node owns it, else over FileState to the owner (ARCHITECTURE §3). While a shard has no
/// live owner (a node just died, its shards not yet taken), calls wait, bounded by <see cref="RouteTimeout"/>.
/// </summary>
public sealed class ClusterFileStateService : IFileStateService, IDisposable
{
    private readonly IFileStateService _local;
    private readonly ClusterMembership _members;
    private readonly PeerClients _peers;
    private readonly IStateStore _store;
    // Leases granted to this node's clients, by key, with their opens here: an acknowledgement names only the lease,
    // and a client's lease key names one file (MS-SMB2 3.3.5.9.8) — its opens are all on this node.
    private readonly Dictionary<LeaseId, (FileKey File, int Opens)> _leaseFiles = new();

    private bool TryLeaseFile(LeaseId id, out FileKey file)
    {
        lock (_leaseFiles)
        {
            var found = _leaseFiles.TryGetValue(id, out var e);
            file = e.File;
            return found;
        }
    }

    private void RetainLease(LeaseId id, FileKey file)
    {
        lock (_leaseFiles) _leaseFiles[id] = (file, _leaseFiles.TryGetValue(id, out var e) && e.File == file ? e.Opens + 1 : 1);
    }

    private void ReleaseLease(LeaseId id)
    {
        lock (_leaseFiles)
        {
            if (!_leaseFiles.TryGetValue(id, out var e)) return;
            if (e.Opens <= 1) _leaseFiles.Remove(id);
            else _leaseFiles[id] = (e.File, e.Opens - 1);
        }
    }

    public ClusterFileStateService(IFileStateService local, ClusterMembership members, IStateStore store)
    {
        _local = local;
        _members = members;
        _store = store;
        _peers = new PeerClients(members);
    }

    private long _localCalls, _remoteCalls;

    /// <summary>Calls answered by this node's own actors, and calls sent to another node (cumulative).</summary>
    public (long Local, long Remote) Calls => (Interlocked.Read(ref _localCalls), Interlocked.Read(ref _remoteCalls));

    /// <summary>How long a call waits for its shard to have a reachable owner.</summary>
    public static TimeSpan RouteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    private static MethodDescriptor M(string name) => FileStateRpcService.Method(name);

    private async ValueTask<T> RouteAsync<T>(int shard, Func<IFileStateService, ValueTask<T>> local, Func<GrpcClient, Task<T>> remote, T unreachable,
        CancellationToken ct = default)
    {
        var end = DateTime.UtcNow + RouteTimeout;
        while (true)
        {
            if (_members.Owns(shard, out _))
            {
                Interlocked.Increment(ref _localCalls);
                return await local(_local).ConfigureAwait(false);
            }
            if (_members.View.Shards.TryGetValue(shard, out var o) && o.Owner is { } owner && owner != _members.NodeId
                && _members.View.Nodes.Any(n => n.NodeId == owner && n.Live) && _peers.TryGet(owner, out var client))
            {
                try
                {
                    Interlocked.Increment(ref _remoteCalls);
                    return await remote(client).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.Status is RpcStatusCode.Unavailable or RpcStatusCode.DeadlineExceeded && !ct.IsCancellationRequested)
                {
                    // Moved or gone: the next membership round shows the new owner.
                }
            }
            if (DateTime.UtcNow > end || _members.IsFenced) return unreachable;
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    private ValueTask<T> Route<T>(FileKey file, Func<IFileStateService, ValueTask<T>> local, Func<GrpcClient, Task<T>> remote, T unreachable,
        CancellationToken ct = default) => RouteAsync(OpenId.ShardOf(file), local, remote, unreachable, ct);

    private static async Task<NtStatus> StatusOf(Task<V1.StatusResult> call) => (NtStatus)(await call.ConfigureAwait(false)).Status;

    private static Task<TRes> Call<TReq, TRes>(GrpcClient c, string method, TReq req, CancellationToken ct = default)
        where TReq : IMessage<TReq> where TRes : IMessage<TRes> => c.MultiplexedUnaryAsync<TReq, TRes>(M(method), req, TimeSpan.FromSeconds(60), ct);

    public async ValueTask<OpenDecision> OpenAsync(OpenRequest request, CancellationToken ct)
    {
        if (request.RequestedOplock == OplockLevel.Lease && request.Lease is { } asked && TryLeaseFile(asked.Id, out var other) && other != request.File)
            return new OpenDecision(OpenOutcome.InvalidParameter);
        var d = await Route(request.File, l => l.OpenAsync(request, ct),
            async c => Of(await Call<V1.OpenCall, V1.OpenResult>(c, "Open", Of(request), ct).ConfigureAwait(false)),
            new OpenDecision(OpenOutcome.AccessDenied), ct).ConfigureAwait(false);
        if (d.Lease is { } l) RetainLease(l.Id, request.File);
        return d;
    }

    public async ValueTask<CloseOutcome> CloseAsync(FileKey file, OpenId open)
    {
        var o = await Route(file, l => l.CloseAsync(file, open),
            async c => Of(await Call<V1.OpenRef, V1.CloseResult>(c, "Close", Ref(file, open)).ConfigureAwait(false)),
            new CloseOutcome(false, false)).ConfigureAwait(false);
        if (o.Lease is { } l) ReleaseLease(l);
        return o;
    }

    public ValueTask<NtStatus> SetDeletePendingAsync(FileKey file, OpenId open, bool deletePending) =>
        Route(file, l => l.SetDeletePendingAsync(file, open, deletePending),
            c => StatusOf(Call<V1.DeletePendingCall, V1.StatusResult>(c, "SetDeletePending", new V1.DeletePendingCall { Open = Ref(file, open), Value = deletePending })),
            NtStatus.Unsuccessful);

    public ValueTask<bool> IsDeletePendingAsync(FileKey file) =>
        Route(file, l => l.IsDeletePendingAsync(file),
            async c => (await Call<V1.FileRef, V1.BoolResult>(c, "IsDeletePending", new V1.FileRef { File = Of(file) }).ConfigureAwait(false)).Value, false);

    public ValueTask<NtStatus> CheckRenameAsync(FileKey file, OpenId open) =>
        Route(file, l => l.CheckRenameAsync(file, open), c => StatusOf(Call<V1.OpenRef, V1.StatusResult>(c, "CheckRename", Ref(file, open))), NtStatus.Unsuccessful);

    public ValueTask<NtStatus> CheckReplaceAsync(FileKey file) =>
        Route(file, l => l.CheckReplaceAsync(file), c => StatusOf(Call<V1.FileRef, V1.StatusResult>(c, "CheckReplace", new V1.FileRef { File = Of(file) })),
            NtStatus.Unsuccessful);

    public ValueTask<NtStatus> ProbeShareAccessAsync(FileKey file, AccessMask access, ShareAccess share) =>
        Route(file, l => l.ProbeShareAccessAsync(file, access, share),
            c => StatusOf(Call<V1.ProbeCall, V1.StatusResult>(c, "ProbeShareAccess", new V1.ProbeCall { File = Of(file), Access = (uint)access, Share = (uint)share })),
            NtStatus.Unsuccessful);

    public async ValueTask FileDeletedAsync(FileKey file) =>
        await Route(file, async l => { await l.FileDeletedAsync(file).ConfigureAwait(false); return true; },
            async c => { await Call<V1.FileRef, V1.Empty>(c, "FileDeleted", new V1.FileRef { File = Of(file) }).ConfigureAwait(false); return true; }, false).ConfigureAwait(false);

    public ValueTask<NtStatus> LockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, bool failImmediately, CancellationToken ct,
        LockSequence? sequence = null)
    {
        var call = new V1.LockCall { Open = Ref(file, open), FailImmediately = failImmediately, Sequence = Of(sequence) };
        call.Ranges.AddRange(ranges.Select(Of));
        // A blocking lock is one long call; CANCEL cancels it, which cancels the wait in the owner's actor.
        return Route(file, l => l.LockAsync(file, open, ranges, failImmediately, ct, sequence),
            async c =>
            {
                try
                {
                    return (NtStatus)(await c.MultiplexedUnaryAsync<V1.LockCall, V1.StatusResult>(M("Lock"), call, failImmediately ? TimeSpan.FromSeconds(60) : null, ct)
                        .ConfigureAwait(false)).Status;
                }
                catch (Exception) when (ct.IsCancellationRequested)
                {
                    return NtStatus.Cancelled;
                }
            }, NtStatus.Unsuccessful);
    }

    public ValueTask<NtStatus> UnlockAsync(FileKey file, OpenId open, IReadOnlyList<LockRange> ranges, LockSequence? sequence = null)
    {
        var call = new V1.LockCall { Open = Ref(file, open), Sequence = Of(sequence) };
        call.Ranges.AddRange(ranges.Select(Of));
        return Route(file, l => l.UnlockAsync(file, open, ranges, sequence), c => StatusOf(Call<V1.LockCall, V1.StatusResult>(c, "Unlock", call)), NtStatus.Unsuccessful);
    }

    public ValueTask<NtStatus> CheckIoAsync(FileKey file, OpenId open, ulong offset, ulong length, bool write) =>
        Route(file, l => l.CheckIoAsync(file, open, offset, length, write),
            c => StatusOf(Call<V1.IoCall, V1.StatusResult>(c, "CheckIo", new V1.IoCall { Open = Ref(file, open), Offset = offset, Length = length, Write = write })),
            NtStatus.Unsuccessful);

    /// <remarks>Remotely a zero-length write check: the owner's actor takes the same step (read caches end, no lock conflicts).</remarks>
    public async ValueTask BreakReadCachingAsync(FileKey file, OpenId open) =>
        await Route(file, async l => { await l.BreakReadCachingAsync(file, open).ConfigureAwait(false); return true; },
            async c =>
            {
                await Call<V1.IoCall, V1.StatusResult>(c, "CheckIo", new V1.IoCall { Open = Ref(file, open), Offset = 0, Length = 0, Write = true }).ConfigureAwait(false);
                return true;
            }, false).ConfigureAwait(false);

    public ValueTask<(NtStatus Status, byte Level)> AckOplockAsync(FileKey file, OpenId open, byte level) =>
        Route(file, l => l.AckOplockAsync(file, open, level),
            async c =>
            {
                var r = await Call<V1.AckOplockCall, V1.AckOplockResult>(c, "AckOplock", new V1.AckOplockCall { Open = Ref(file, open), Level = level }).ConfigureAwait(false);
                return ((NtStatus)r.Status, (byte)r.Level);
            }, (NtStatus.Unsuccessful, (byte)0));

    public ValueTask<NtStatus> AckLeaseAsync(LeaseId lease, LeaseState state)
    {
        if (!TryLeaseFile(lease, out var file)) return _local.AckLeaseAsync(lease, state);
        return Route(file, l => l.AckLeaseAsync(lease, state),
            c => StatusOf(Call<V1.AckLeaseCall, V1.StatusResult>(c, "AckLease", new V1.AckLeaseCall { File = Of(file), Lease = Of(lease), State = (uint)state })),
            NtStatus.Unsuccessful);
    }

    public int ActiveFileCount => _local.ActiveFileCount;

    public int? ProposeHome(FileKey file, bool created)
    {
        var mine = created ? _members.HomeShards : [];
        return mine.Length == 0 ? OpenId.ShardOf(file) : mine[(int)(StableHash.Of(file) % (ulong)mine.Length)];
    }
    public int DisconnectedOpenCount => _local.DisconnectedOpenCount;

    public ValueTask<bool> DisconnectAsync(FileKey file, OpenId open, long position) =>
        Route(file, l => l.DisconnectAsync(file, open, position),
            async c => (await Call<V1.DisconnectCall, V1.BoolResult>(c, "Disconnect", new V1.DisconnectCall { Open = Ref(file, open), Position = position })
                .ConfigureAwait(false)).Value, false);

    public async ValueTask<ReconnectResult> ReconnectAsync(ReconnectRequest request)
    {
        // The shard is in the open's id: no look-up of the file is needed to reach the owner.
        var r = await RouteAsync(request.Open.Shard, l => l.ReconnectAsync(request),
            async c =>
            {
                var m = await Call<V1.ReconnectCall, V1.ReconnectResultMsg>(c, "Reconnect", Of(request, new FileKey(request.Share, 0))).ConfigureAwait(false);
                return new ReconnectResult((NtStatus)m.Status, m.Record is { } rec ? Of(rec) : null, m.Decision is { } d ? Of(d) : null, m.Busy);
            }, new ReconnectResult(NtStatus.ObjectNameNotFound)).ConfigureAwait(false);
        if (r.Decision?.Lease is { } l && r.Record is { } record) RetainLease(l.Id, record.File);
        return r;
    }

    public async ValueTask UpdateDurablePathAsync(FileKey file, OpenId open, string path) =>
        await Route(file, async l => { await l.UpdateDurablePathAsync(file, open, path).ConfigureAwait(false); return true; },
            async c => { await Call<V1.PathCall, V1.Empty>(c, "UpdateDurablePath", new V1.PathCall { Open = Ref(file, open), Path = path }).ConfigureAwait(false); return true; },
            false).ConfigureAwait(false);

    public ValueTask<DurableOpenRecord?> GetDurableAsync(FileKey file, OpenId open) =>
        Route(file, l => l.GetDurableAsync(file, open),
            async c => await Call<V1.OpenRef, V1.DurableLookup>(c, "GetDurable", Ref(file, open)).ConfigureAwait(false) is { Found: true } f ? Of(f.Record) : null,
            null);

    public async ValueTask<OpenLocation?> FindByCreateGuidAsync(Guid clientGuid, Guid createGuid) =>
        await _local.FindByCreateGuidAsync(clientGuid, createGuid).ConfigureAwait(false)
        ?? await _store.FindByCreateGuidAsync(clientGuid, createGuid, CancellationToken.None).ConfigureAwait(false);

    public async ValueTask<OpenLocation?> FindByAppInstanceAsync(Guid appInstanceId) =>
        await _local.FindByAppInstanceAsync(appInstanceId).ConfigureAwait(false)
        ?? await _store.FindByAppInstanceAsync(appInstanceId, CancellationToken.None).ConfigureAwait(false);

    public Action<FileKey, ExpiredOpen>? OpenExpired
    {
        get => _local.OpenExpired;
        set => _local.OpenExpired = value;
    }

    /// <summary>A cluster node restores by shard as it takes them (<see cref="IShardHost"/>), not all at start.</summary>
    public Task<int> RestoreAsync(CancellationToken ct) => Task.FromResult(0);

    public void Dispose() => _peers.Dispose();
}
