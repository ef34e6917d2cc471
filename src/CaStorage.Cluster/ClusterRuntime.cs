using System.Net;
using System.Runtime.CompilerServices;
using CaStorage.Cluster.Rpc;
using CaStorage.Rpc;
using CaStorage.State;
using CaStorage.State.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using V1 = CaStorage.Cluster.V1;

namespace CaStorage.Cluster;

/// <summary>
/// One node's part of the cluster: membership and shard ownership, the cluster RPC endpoint (FileState for the
/// shards it owns, Breaks for its clients), and the routing state tier the SMB layer uses.
/// </summary>
public sealed class ClusterRuntime : IAsyncDisposable
{
    private readonly WebApplication _rpc;

    private ClusterRuntime(ClusterMembership membership, ClusterFileStateService router, ClusterNotifier notifier, WebApplication rpc,
        StrongBox<IOpenDirectory?> directory, StrongBox<INodeEvents?> events, PeerClients peers,
        StrongBox<Func<string, byte[], string, CancellationToken, Task<byte[]>>?> admin, PeerWatches peerWatches,
        StrongBox<Func<(long Version, string[] Shares)>?> localWatches, ILogger log)
    {
        _peerWatches = peerWatches;
        _localWatches = localWatches;
        _log = log;
        _directory = directory;
        _events = events;
        _admin = admin;
        _peers = peers;
        Membership = membership;
        FileState = _router = router;
        Notifier = notifier;
        _rpc = rpc;
    }

    public ClusterMembership Membership { get; }

    /// <summary>This node's connected opens (the SMB layer), told to a node that takes a shard; set once it exists.</summary>
    public IOpenDirectory? Directory { get => _directory.Value; set => _directory.Value = value; }
    private readonly StrongBox<IOpenDirectory?> _directory;

    /// <summary>This node's answers to its peers' session, open and change events; set once the SMB layer exists.</summary>
    public INodeEvents? Events { get => _events.Value; set => _events.Value = value; }
    private readonly StrongBox<INodeEvents?> _events;
    private readonly PeerClients _peers;
    private readonly ILogger _log;

    /// <summary>This node's admin API for its peers (method, request, caller, cancellation -> response); set by the admin API.</summary>
    public Func<string, byte[], string, CancellationToken, Task<byte[]>>? AdminHandler { get => _admin.Value; set => _admin.Value = value; }
    private readonly StrongBox<Func<string, byte[], string, CancellationToken, Task<byte[]>>?> _admin;

    private static readonly Google.Protobuf.Reflection.MethodDescriptor AdminMethod = BreaksRpcService.Service.FindMethodByName("Admin");

    /// <summary>The admin method on every other live node, at once; the answers of those that answered.</summary>
    public async Task<IReadOnlyList<byte[]>> AdminOthersAsync(string method, byte[] request, CancellationToken ct)
    {
        var calls = _peers.OtherLive().Select(p => (p.NodeId, Call: AdminCallAsync(p.Client, method, request, ct))).ToList();
        var answers = new List<byte[]>(calls.Count);
        foreach (var (node, call) in calls)
        {
            try { answers.Add(await call.ConfigureAwait(false)); }
            catch (RpcException ex) { _log.LogWarning("cluster: admin {Method} on node {Node} failed: {Reason}", method, node, ex.Message); }
        }
        return answers;
    }

    /// <summary>The admin method on one live node; null when there is none with that id.</summary>
    public async Task<byte[]?> AdminNodeAsync(string node, string method, byte[] request, CancellationToken ct)
    {
        foreach (var (id, client) in _peers.OtherLive())
            if (id == node) return await AdminCallAsync(client, method, request, ct).ConfigureAwait(false);
        return null;
    }

    private static async Task<byte[]> AdminCallAsync(GrpcClient client, string method, byte[] request, CancellationToken ct)
    {
        var answer = await client.MultiplexedUnaryAsync<V1.AdminRelay, V1.AdminRelay>(AdminMethod,
            new V1.AdminRelay { Method = method, Message = Google.Protobuf.ByteString.CopyFrom(request) }, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        return answer.Message.ToByteArray();
    }

    /// <summary>Tells every other live node (fire and forget: a node that misses it has no such session/open/watch).</summary>
    private void Broadcast<TReq, TRes>(string method, TReq message) where TReq : Google.Protobuf.IMessage<TReq> where TRes : Google.Protobuf.IMessage<TRes>
    {
        var m = BreaksRpcService.Service.FindMethodByName(method);
        foreach (var (_, client) in _peers.OtherLive())
            _ = client.MultiplexedUnaryAsync<TReq, TRes>(m, message, TimeSpan.FromSeconds(5)).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
    }

    /// <summary>Asks every other live node to end this session of this user (PreviousSessionId of a reconnect here), and waits.</summary>
    public async Task EndSessionElsewhereAsync(ulong sessionId, string user)
    {
        var m = BreaksRpcService.Service.FindMethodByName("EndSession");
        var calls = new List<Task>();
        foreach (var (_, client) in _peers.OtherLive())
            calls.Add(client.MultiplexedUnaryAsync<V1.SessionCall, V1.Empty>(m, new V1.SessionCall { SessionId = sessionId, User = user }, TimeSpan.FromSeconds(5)));
        foreach (var c in calls)
        {
            try { await c.ConfigureAwait(false); }
            catch (RpcException) { /* that node is gone, and its sessions with it */ }
        }
    }

    /// <summary>Asks the other live nodes to close this open where its client is; true when one did.</summary>
    public async Task<bool> CloseOpenElsewhereAsync(OpenId open)
    {
        var m = BreaksRpcService.Service.FindMethodByName("CloseOpen");
        var calls = new List<Task<V1.BoolResult>>();
        foreach (var (_, client) in _peers.OtherLive())
            calls.Add(client.MultiplexedUnaryAsync<V1.OpenRef, V1.BoolResult>(m, new V1.OpenRef { Open = open.Value }, TimeSpan.FromSeconds(5)));
        var closed = false;
        foreach (var c in calls)
        {
            try { closed |= (await c.ConfigureAwait(false)).Value; }
            catch (RpcException) { /* that node is gone: nothing to close there */ }
        }
        return closed;
    }

    /// <summary>
    /// Tells every other live node that a directory became delete-pending here (their waits on it end). Rare, so sent
    /// to all: a watch posted just before on another node is ended even if that node's announcement is still on its way.
    /// </summary>
    public void DeletePendingHere(string share, string directory)
    {
        var change = new V1.ChangeEvent { Share = share, Path = directory, DeletePending = true };
        foreach (var (node, client) in _peers.OtherLive()) _ = ForwardChangeAsync(node, client, change);
    }

    /// <summary>Tells the other live nodes that watch the share of a change made here (their CHANGE_NOTIFY watches).</summary>
    public void ChangedHere(string share, string path, int action, int filter) =>
        ForwardChange(new V1.ChangeEvent { Share = share, Path = path, Action = (uint)action, Filter = (uint)filter });

    private static readonly Google.Protobuf.Reflection.MethodDescriptor ChangedMethod = BreaksRpcService.Service.FindMethodByName("Changed");
    private static readonly Google.Protobuf.Reflection.MethodDescriptor WatchingMethod = BreaksRpcService.Service.FindMethodByName("Watching");
    private readonly PeerWatches _peerWatches;

    private void ForwardChange(V1.ChangeEvent change)
    {
        foreach (var (node, client) in _peers.OtherLive())
            if (_peerWatches.Wants(node, change.Share)) _ = ForwardChangeAsync(node, client, change);
    }

    private async Task ForwardChangeAsync(string node, GrpcClient client, V1.ChangeEvent change)
    {
        try
        {
            var watched = await client.MultiplexedUnaryAsync<V1.ChangeEvent, V1.WatchedShares>(ChangedMethod, change, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            _peerWatches.Learn(node, watched.Version, watched.Shares);
        }
        catch (RpcException)
        {
            // That node is gone, and its watches with it.
        }
    }

    /// <summary>
    /// The shares with watches on this node changed: tells every other live node, and waits for them (a change there
    /// is forwarded here only once it knows).
    /// </summary>
    public async Task WatchingHereAsync(long version, string[] shares)
    {
        var told = new V1.WatchedShares { Node = Membership.NodeId, Version = version };
        told.Shares.AddRange(shares);
        var calls = _peers.OtherLive().Select(p => p.Client.MultiplexedUnaryAsync<V1.WatchedShares, V1.Empty>(WatchingMethod, told, TimeSpan.FromSeconds(2))).ToList();
        foreach (var c in calls)
        {
            try { await c.ConfigureAwait(false); }
            catch (RpcException) { /* gone, or it learns from its next forwarded change's answer */ }
        }
    }

    /// <summary>This node's watched shares and their version (the SMB layer's change hub), told in answers to peers.</summary>
    public Func<(long Version, string[] Shares)>? LocalWatches { get => _localWatches.Value; set => _localWatches.Value = value; }
    private readonly StrongBox<Func<(long Version, string[] Shares)>?> _localWatches;
    /// <summary>The state tier as the SMB layer sees it (routes to shard owners).</summary>
    public IFileStateService FileState { get; }
    private readonly ClusterFileStateService _router;

    /// <summary>State-tier calls this node answered itself (it owns the file's shard), and those it sent to the owner.</summary>
    public (long Local, long Remote) StateCalls => _router.Calls;
    public ClusterNotifier Notifier { get; }

    /// <summary>The owner-tag prefix of this node's client connections (breaks are routed by it).</summary>
    public string OwnerPrefix => Membership.OwnerPrefix;

    /// <param name="local">This node's file actors (all shards local in shape; only owned shards used).</param>
    /// <param name="notifier">The same notifier <paramref name="local"/> was built with.</param>
    /// <param name="fenced">Called when the node fences itself: drop every client connection.</param>
    public static async Task<ClusterRuntime> StartAsync(ClusterNodeOptions options, IFileStateService local, ClusterNotifier notifier, IStateStore store,
        ILoggerFactory loggers, Func<Task> fenced, CancellationToken ct)
    {
        var log = loggers.CreateLogger("CaStorage.Cluster");
        var membership = new ClusterMembership(options, log);
        var host = (IShardHost)local;
        var directory = new StrongBox<IOpenDirectory?>();
        var peers = new PeerClients(membership);
        membership.ShardsAcquired = async shards =>
        {
            // 1. What the store keeps (durable and persistent opens, disconnected until proven otherwise);
            // 2. what every live node's clients hold now (their opens carry on; durable ones are connected again).
            var set = shards.Select(s => s.Shard).ToHashSet();
            var n = await host.RestoreShardsAsync(set, CancellationToken.None).ConfigureAwait(false);
            var held = new List<ReassertedOpen>(directory.Value?.ConnectedOpens(set) ?? []);
            var query = new V1.ShardList();
            query.Shards.AddRange(set);
            foreach (var (node, client) in peers.OtherLive())
            {
                try
                {
                    // Inside the membership round: well within its fence deadline, or a slow peer fences this node.
                    var answer = await client.MultiplexedUnaryAsync<V1.ShardList, V1.OpenList>(BreaksRpcService.Service.FindMethodByName("Opens"), query,
                        options.FenceDeadline / 2).ConfigureAwait(false);
                    held.AddRange(answer.Opens.Select(ClusterWire.Of));
                }
                catch (RpcException ex)
                {
                    log.LogWarning("cluster: opens of node {Node} in {Count} new shards unknown: {Reason}", node, set.Count, ex.Message);
                }
            }
            await host.ReassertAsync(held).ConfigureAwait(false);
            if (n > 0 || held.Count > 0)
                log.LogInformation("cluster: {Shards} shards taken: {Restored} durable opens restored, {Held} opens of connected clients reasserted",
                    shards.Count, n, held.Count);
        };
        membership.ShardReleasing = s =>
        {
            host.DropShard(s);
            return Task.CompletedTask;
        };
        membership.Fenced = fenced;
        membership.MembersGone = host.MembersGoneAsync;
        host.SetEpochSource(membership.EpochOf);
        notifier.Attach(membership);

        // Peers call each other thousands of times a second: every unary method is also served as frames of one
        // stream per peer (Multiplex/Exchange), which the peers' clients use.
        var table = new GrpcMethodTable().MapMultiplex(loggers.CreateLogger("CaStorage.Rpc.Server"));
        new FileStateRpcService(local, membership).MapTo(table);
        var events = new StrongBox<INodeEvents?>();
        var admin = new StrongBox<Func<string, byte[], string, CancellationToken, Task<byte[]>>?>();
        var peerWatches = new PeerWatches();
        var localWatches = new StrongBox<Func<(long Version, string[] Shares)>?>();
        new BreaksRpcService(notifier, () => directory.Value, () => events.Value, () => admin.Value, peerWatches, () =>
        {
            var answer = new V1.WatchedShares { Node = options.NodeId };
            if (localWatches.Value is { } local)
            {
                var (version, shares) = local();
                answer.Version = version;
                answer.Shares.AddRange(shares);
            }
            return answer;
        }).MapTo(table);
        var grpc = new GrpcServer(table, loggers);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        var endpoint = IPEndPoint.Parse(options.RpcEndpoint);
        // Peers speak gRPC over cleartext HTTP/2 with prior knowledge: an Http2-only endpoint.
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.Run(grpc.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);

        var router = new ClusterFileStateService(local, membership, store);
        try
        {
            await membership.StartAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            router.Dispose();
            throw;
        }
        log.LogInformation("cluster: node {Node} serving cluster RPC on {Endpoint}, owning {Count} shards", options.NodeId, endpoint, membership.OwnedShards.Count);
        return new ClusterRuntime(membership, router, notifier, app, directory, events, peers, admin, peerWatches, localWatches, log);
    }

    public async ValueTask DisposeAsync()
    {
        await Membership.DisposeAsync().ConfigureAwait(false);
        await _rpc.StopAsync().ConfigureAwait(false);
        await _rpc.DisposeAsync().ConfigureAwait(false);
        ((IDisposable)FileState).Dispose();
        _peers.Dispose();
        Notifier.Dispose();
    }
}
