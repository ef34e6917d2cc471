using System.Net;
using System.Text;
using CaStorage.Core.Security;
using CaStorage.Cluster;
using CaStorage.Server.Configuration;
using CaStorage.Smb.Security;
using CaStorage.Smb.Server;
using CaStorage.Smb.Transport;
using CaStorage.State;
using CaStorage.State.Persistence;
using CaStorage.Vfs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CaStorage.Server;

/// <summary>Composes one node: configuration, VFS stacks, state tier, and the SMB listener.</summary>
internal sealed class NodeHost : IAsyncDisposable
{
    private readonly IHost _app;
    private readonly AdminComposition _admin;
    private readonly StoreWriter _store;

    private readonly ClusterRuntime? _cluster;
    private readonly ILoggerFactory _stateLoggers;

    private NodeHost(IHost app, AdminComposition admin, StoreWriter store, ClusterRuntime? cluster, ILoggerFactory stateLoggers)
    {
        _stateLoggers = stateLoggers;
        _app = app;
        _admin = admin;
        _store = store;
        _cluster = cluster;
    }

    public static async Task<NodeHost> CreateAsync(CommandLine cli)
    {
        // A generic host (DI, configuration, logging, SIGTERM): SMB has a transport of its own (SmbListener), and the
        // admin and cluster ports run Kestrel hosts of their own.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, DisableDefaults = true });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true);
        if (cli.ConfigFile is not null)
        {
            if (!File.Exists(cli.ConfigFile)) throw new ConfigurationException($"config file '{cli.ConfigFile}' not found");
            builder.Configuration.AddJsonFile(Path.GetFullPath(cli.ConfigFile), optional: false);
        }
        builder.Configuration.AddEnvironmentVariables();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });

        var options = new CaStorageOptions();
        builder.Configuration.GetSection(CaStorageOptions.Section).Bind(options);
        ApplyCommandLine(options, cli);

        var dataDir = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDir);
        if (options.Shares.Count == 0)
            options.Shares.Add(new ShareOptions { Name = "share", Path = Path.Combine(dataDir, "share") });

        var time = TimeProvider.System;
        using var bootLoggers = LoggerFactory.Create(b => b.AddSimpleConsole());
        if (string.IsNullOrWhiteSpace(options.Cluster.NodeId)) options.Cluster.NodeId = Environment.MachineName;
        var nodeId = options.Cluster.NodeId;
        // PostgreSQL alone: one node whose state is in PostgreSQL. With a cluster address as well: a cluster member.
        var clusterMode = !string.IsNullOrWhiteSpace(options.Cluster.ConnectionString) && !string.IsNullOrWhiteSpace(options.Cluster.Listen);
        if (!string.IsNullOrWhiteSpace(options.Cluster.Listen) && string.IsNullOrWhiteSpace(options.Cluster.ConnectionString))
            throw new ConfigurationException("Cluster:Listen (--cluster-listen) is set but Cluster:ConnectionString (--postgres) is not");
        var store = await OpenStoreAsync(options, dataDir).ConfigureAwait(false);
        var endpoints = options.Listen.Count == 0 ? ["0.0.0.0:445"] : options.Listen;
        var listen = endpoints.Select(ParseEndpoint).ToList();

        // The state tier: this node's file actors, and in a cluster the router in front of them (ARCHITECTURE §2-3).
        // Breaks flow from the actors back to the connections through one notifier (through the owner's peer in a cluster).
        // It exists before the host is built (a cluster node joins before it serves), so it has loggers of its own.
        var stateLoggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; }));
        var smbNotifier = new SmbClientNotifier();
        IClientNotifier actorNotifier = clusterMode ? new ClusterNotifier(smbNotifier, nodeId, stateLoggers.CreateLogger("CaStorage.Cluster")) : smbNotifier;
        var writer = new StoreWriter(store, stateLoggers.CreateLogger("CaStorage.State.Store"));
        var localState = FileStateServices.CreateLocal(actorNotifier, time, writer, nodeId);
        ClusterRuntime? cluster = null;
        if (clusterMode)
        {
            // Join before serving: the node takes its shards (and their durable opens) first.
            cluster = await ClusterRuntime.StartAsync(new ClusterNodeOptions
            {
                NodeId = nodeId,
                ConnectionString = options.Cluster.ConnectionString!,
                RpcEndpoint = options.Cluster.Listen!,
                AdvertiseEndpoint = string.IsNullOrWhiteSpace(options.Cluster.Advertise) ? null : options.Cluster.Advertise,
                SmbEndpoint = endpoints[0],
                FenceDeadline = TimeSpan.FromMilliseconds(options.Cluster.FenceDeadlineMs),
            }, localState, (ClusterNotifier)actorNotifier, store, stateLoggers, () =>
            {
                // Fenced: no client may go on writing through this node (ARCHITECTURE §3).
                smbNotifier.AbortAll();
                return Task.CompletedTask;
            }, CancellationToken.None).ConfigureAwait(false);
        }
        builder.Services.AddSingleton(sp => VfsModuleRegistry.CreateDefault(sp.GetRequiredService<ILoggerFactory>(), time));
        builder.Services.AddSingleton(sp =>
        {
            var loggers = sp.GetRequiredService<ILoggerFactory>();
            var registry = sp.GetRequiredService<VfsModuleRegistry>();
            var shares = options.Shares.Select(s => BuildShare(s, registry)).ToList();
            var settings = new SmbServerSettings
            {
                ServerGuid = LoadServerGuid(options, dataDir),
                NetBiosName = options.NetBiosName,
                DomainName = options.Workgroup,
                SigningRequired = options.Signing.Required,
                Encryption = ParseEncryption(options.Encryption),
                MultiChannel = options.MultiChannel,
                AllowGuest = options.AllowGuest,
                AllowAnonymous = options.AllowAnonymous,
                MinDialect = ParseDialect(options.MinDialect),
                MaxDialect = ParseDialect(options.MaxDialect),
                Identities = BuildIdentities(options),
            };
            var hashes = options.Users.ToDictionary(u => u.Name, u => ParseHash(u), StringComparer.OrdinalIgnoreCase);
            return new SmbServerContext(settings, shares, hashes, cluster?.FileState ?? localState, loggers, time, smbNotifier)
            {
                StoreWriter = writer,
                Inspector = localState as CaStorage.State.Inspection.IFileStateInspector,
                OwnerPrefix = cluster?.OwnerPrefix ?? "",
            };
        });
        var admin = AdminComposition.Plan(options);
        builder.Services.AddHostedService(sp => new SmbListener(sp.GetRequiredService<SmbServerContext>(), listen));

        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CaStorage.Server");
        // Build the server context now so configuration errors surface before listening.
        var ctx = app.Services.GetRequiredService<SmbServerContext>();
        if (cluster is not null)
        {
            // Peers reach this node's sessions, opens and watches; this node reaches theirs.
            cluster.Directory = ctx;
            // A node that fenced itself and joined again tags its new clients' opens with its new life.
            cluster.Membership.Joined = prefix => ctx.OwnerPrefix = prefix;
            cluster.Events = new SmbNodeEvents(ctx);
            ctx.EndRemoteSession = cluster.EndSessionElsewhereAsync;
            ctx.CloseRemoteOpen = cluster.CloseOpenElsewhereAsync;
            ctx.Serving = cluster.Membership.ServingAsync;
            ctx.Notify.Forward = (share, path, action, filter) => cluster.ChangedHere(share, path, (int)action, (int)filter);
            ctx.Notify.ForwardDeletePending = cluster.DeletePendingHere;
            ctx.Notify.SharesWatchedChanged = cluster.WatchingHereAsync;
            cluster.LocalWatches = () => ctx.Notify.SharesWatched;
            // How much of the state tier's work stays on this node (files placed where they are used) and how much hops.
            ctx.MetricsRegistry.CreateCounter("castorage_cluster_state_calls_local_total",
                "State-tier calls (open, close, lock, I/O check, ...) answered by this node's own file actors.", () => cluster.StateCalls.Local);
            ctx.MetricsRegistry.CreateCounter("castorage_cluster_state_calls_remote_total",
                "State-tier calls sent to the node that owns the file's shard.", () => cluster.StateCalls.Remote);
            // Failovers as this node saw them: members that died, and the shards (with their opens) it took from them.
            ctx.MetricsRegistry.CreateCounter("castorage_cluster_failovers_total",
                "Cluster members this node saw die: liveness lock gone without leaving.", () => cluster.Membership.Failovers);
            ctx.MetricsRegistry.CreateCounter("castorage_cluster_shards_taken_over_total",
                "Shards this node took from a member that died.", () => cluster.Membership.ShardsTakenOver);
            ctx.MetricsRegistry.CreateCounter("castorage_cluster_shards_handed_in_total",
                "Shards this node took free or handed off: joins, rebalancing, drains.", () => cluster.Membership.ShardsHandedIn);
        }
        // Durable and persistent opens of this node from before a restart come back, disconnected, before clients do
        // (a cluster node restores by shard as it takes them).
        var restored = await ctx.FileState.RestoreAsync(CancellationToken.None).ConfigureAwait(false);
        log.LogInformation("state store {Kind}, node {Node}: {Count} durable opens restored", store.Kind, nodeId, restored);
        await app.StartAsync().ConfigureAwait(false);
        try
        {
            await admin.StartAsync(options, ctx, app.Services.GetRequiredService<VfsModuleRegistry>(), app.Services.GetRequiredService<ILoggerFactory>(),
                endpoints, dataDir, cluster is null ? null : new ClusterInspector(cluster, smbNotifier)).ConfigureAwait(false);
        }
        catch
        {
            await admin.DisposeAsync().ConfigureAwait(false);
            await app.StopAsync().ConfigureAwait(false);
            await ((IAsyncDisposable)app).DisposeAsync().ConfigureAwait(false);
            throw;
        }
        foreach (var ep in listen) log.LogInformation("CaStorage listening on smb://{Endpoint}", ep);
        foreach (var s in ctx.Shares) log.LogInformation("share {Share} -> {Path} [{Vfs}]", s.Name, s.Stack.RootPath, string.Join(",", options.Shares.First(x => x.Name == s.Name).Vfs));
        return new NodeHost(app, admin, ctx.StoreWriter!, cluster, stateLoggers);
    }

    private static async Task<IStateStore> OpenStoreAsync(CaStorageOptions o, string dataDir)
    {
        // A PostgreSQL connection makes the node a cluster member with the shared store; alone it keeps SQLite.
        IStateStore store = string.IsNullOrWhiteSpace(o.Cluster.ConnectionString)
            ? new SqliteStateStore(Path.Combine(dataDir, "state.db"))
            : new PostgresStateStore(o.Cluster.ConnectionString);
        try
        {
            await store.MigrateAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException($"state store {store.Kind}: {ex.Message}");
        }
        return store;
    }

    public Task RunAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _admin.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await ((IAsyncDisposable)_app).DisposeAsync().ConfigureAwait(false);
        // Leaves the cluster (its shards go to the others), then commits what is queued and closes the store.
        if (_cluster is not null) await _cluster.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        await _store.Store.DisposeAsync().ConfigureAwait(false);
        _stateLoggers.Dispose();
    }

    private static void ApplyCommandLine(CaStorageOptions o, CommandLine cli)
    {
        if (cli.Listen.Count > 0) o.Listen = [.. cli.Listen];
        if (cli.Data is not null) o.DataDirectory = cli.Data;
        if (cli.SigningRequired is true) o.Signing.Required = true;
        if (cli.Encryption is not null) o.Encryption = cli.Encryption;
        if (cli.Admin is not null) o.Admin.Listen = cli.Admin;
        if (cli.Metrics is not null) o.Admin.MetricsListen = cli.Metrics;
        if (cli.NodeId is not null) o.Cluster.NodeId = cli.NodeId;
        if (cli.Postgres is not null) o.Cluster.ConnectionString = cli.Postgres;
        if (cli.ClusterListen is not null) o.Cluster.Listen = cli.ClusterListen;
        foreach (var (name, path, ca) in cli.Shares)
        {
            o.Shares.RemoveAll(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
            o.Shares.Add(new ShareOptions { Name = name, Path = path, ContinuouslyAvailable = ca });
        }
        foreach (var (name, password) in cli.Users)
        {
            o.Users.RemoveAll(u => string.Equals(u.Name, name, StringComparison.OrdinalIgnoreCase));
            o.Users.Add(new UserOptions { Name = name, NtHash = Convert.ToHexString(SmbCredentials.NtHashOf(password)) });
        }
    }

    internal static SmbShare BuildShare(ShareOptions s, VfsModuleRegistry registry)
    {
        if (string.IsNullOrWhiteSpace(s.Name) || s.Name.AsSpan().IndexOfAny("\\/:*?\"<>|") >= 0 || s.Name.Equals("IPC$", StringComparison.OrdinalIgnoreCase))
            throw new ConfigurationException($"invalid share name '{s.Name}'");
        if (string.IsNullOrWhiteSpace(s.Path)) throw new ConfigurationException($"share {s.Name}: no path");
        var root = Path.GetFullPath(s.Path);
        Directory.CreateDirectory(root);
        if (s.Vfs.Count == 0) s.Vfs = ["posix"];
        VfsStack stack;
        try
        {
            stack = new VfsStackBuilder(registry).Build(s.Name, root, s.Vfs, s.Options);
        }
        catch (VfsConfigurationException ex)
        {
            throw new ConfigurationException($"share {s.Name}: {ex.Message}");
        }
        return new SmbShare(s.Name, stack, s.ReadOnly, s.ContinuouslyAvailable && stack.SupportsDurableReopen, s.Encrypt);
    }

    private static SmbEncryptionMode ParseEncryption(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return SmbEncryptionMode.Enabled;
        // Samba's spellings are accepted too: "default" and "if_required" mean Enabled.
        var v = value.Trim().Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        if (v.Equals("default", StringComparison.OrdinalIgnoreCase) || v.Equals("ifrequired", StringComparison.OrdinalIgnoreCase))
            return SmbEncryptionMode.Enabled;
        if (Enum.TryParse<SmbEncryptionMode>(v, ignoreCase: true, out var mode) && Enum.IsDefined(mode)) return mode;
        throw new ConfigurationException($"Encryption '{value}' is not one of Off, Enabled, Desired, Required");
    }

    private static Guid LoadServerGuid(CaStorageOptions o, string dataDir)
    {
        if (!string.IsNullOrEmpty(o.ServerGuid))
            return Guid.TryParse(o.ServerGuid, out var g) ? g : throw new ConfigurationException($"ServerGuid '{o.ServerGuid}' is not a GUID");
        var file = Path.Combine(dataDir, "server-guid");
        if (File.Exists(file) && Guid.TryParse(File.ReadAllText(file).Trim(), out var existing)) return existing;
        var guid = Guid.NewGuid();
        File.WriteAllText(file, guid.ToString(), Encoding.ASCII);
        return guid;
    }

    private static NtIdentityMap BuildIdentities(CaStorageOptions o)
    {
        Sid domain;
        if (string.IsNullOrWhiteSpace(o.DomainSid)) domain = NtIdentityMap.DomainSidFor(o.NetBiosName);
        else if (!Sid.TryParse(o.DomainSid, out domain!) || domain.Authority != 5 || domain.SubAuthorities.Count != 4 || domain.SubAuthorities[0] != 21)
            throw new ConfigurationException($"DomainSid '{o.DomainSid}' is not of the form S-1-5-21-a-b-c");
        try
        {
            var rids = o.Users.Where(u => u.Rid is not null).ToDictionary(u => u.Name, u => u.Rid!.Value, StringComparer.OrdinalIgnoreCase);
            var map = new NtIdentityMap(domain, rids, o.Users.Where(u => u.Administrator).Select(u => u.Name));
            map.EnsureDistinct(o.Users.Select(u => u.Name));
            return map;
        }
        catch (ArgumentException ex)
        {
            throw new ConfigurationException($"users: {ex.Message}");
        }
    }

    private static byte[] ParseHash(UserOptions u)
    {
        if (string.IsNullOrEmpty(u.Name)) throw new ConfigurationException("a user without a name");
        try
        {
            var h = Convert.FromHexString(u.NtHash);
            if (h.Length != 16) throw new FormatException();
            return h;
        }
        catch (FormatException)
        {
            throw new ConfigurationException($"user {u.Name}: NtHash must be 32 hex digits");
        }
    }

    private static ushort ParseDialect(string d) => d switch
    {
        "2.0.2" or "2.02" => 0x0202,
        "2.1" or "2.10" => 0x0210,
        "3.0" or "3.00" => 0x0300,
        "3.0.2" or "3.02" => 0x0302,
        "3.1.1" or "3.11" => 0x0311,
        _ => throw new ConfigurationException($"unknown dialect '{d}'"),
    };

    internal static IPEndPoint ParseEndpoint(string s)
    {
        if (IPEndPoint.TryParse(s, out var ep) && ep.Port != 0) return ep;
        if (IPAddress.TryParse(s, out var addr)) return new IPEndPoint(addr, 445);
        throw new ConfigurationException($"listen address '{s}' is not ADDR:PORT");
    }
}
