using System.Net;
using CaStorage.Cluster.Rpc;
using CaStorage.Rpc;
using CaStorage.State;
using CaStorage.State.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace CaStorage.Cluster;

/// <summary>
/// One node's part of the cluster: membership and shard ownership, the cluster RPC endpoint (FileState for the
/// shards it owns, Breaks for its clients), and the routing state tier the SMB layer uses.
/// </summary>
public sealed class ClusterRuntime : IAsyncDisposable
{
    private readonly WebApplication _rpc;

    private ClusterRuntime(ClusterMembership membership, ClusterFileStateService router, ClusterNotifier notifier, WebApplication rpc)
    {
        Membership = membership;
        FileState = router;
        Notifier = notifier;
        _rpc = rpc;
    }

    public ClusterMembership Membership { get; }
    /// <summary>The state tier as the SMB layer sees it (routes to shard owners).</summary>
    public IFileStateService FileState { get; }
    public ClusterNotifier Notifier { get; }

    /// <param name="local">This node's file actors (all shards local in shape; only owned shards used).</param>
    /// <param name="notifier">The same notifier <paramref name="local"/> was built with.</param>
    /// <param name="fenced">Called when the node fences itself: drop every client connection.</param>
    public static async Task<ClusterRuntime> StartAsync(ClusterNodeOptions options, IFileStateService local, ClusterNotifier notifier, IStateStore store,
        ILoggerFactory loggers, Func<Task> fenced, CancellationToken ct)
    {
        var log = loggers.CreateLogger("CaStorage.Cluster");
        var membership = new ClusterMembership(options, log);
        var host = (IShardHost)local;
        membership.ShardsAcquired = async shards =>
        {
            var n = await host.RestoreShardsAsync(shards.Select(s => s.Shard).ToHashSet(), CancellationToken.None).ConfigureAwait(false);
            if (n > 0) log.LogInformation("cluster: {Count} durable opens restored with {Shards} shards", n, shards.Count);
        };
        membership.ShardReleasing = s =>
        {
            host.DropShard(s);
            return Task.CompletedTask;
        };
        membership.Fenced = fenced;
        notifier.Attach(membership);

        var table = new GrpcMethodTable();
        new FileStateRpcService(local, membership).MapTo(table);
        new BreaksRpcService(notifier).MapTo(table);
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
        return new ClusterRuntime(membership, router, notifier, app);
    }

    public async ValueTask DisposeAsync()
    {
        await Membership.DisposeAsync().ConfigureAwait(false);
        await _rpc.StopAsync().ConfigureAwait(false);
        await _rpc.DisposeAsync().ConfigureAwait(false);
        ((IDisposable)FileState).Dispose();
        Notifier.Dispose();
    }
}
