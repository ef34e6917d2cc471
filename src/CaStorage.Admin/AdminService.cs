using CaStorage.Admin.V1;
using CaStorage.Rpc;
using CaStorage.Rpc.Services;
using CaStorage.State;
using CaStorage.State.Inspection;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace CaStorage.Admin;

/// <summary>
/// castorage.admin.v1.Admin over one node's state: the wire layer's sessions and opens (<see cref="ISessionDirectory"/>),
/// the state tier's file actors (<see cref="IFileStateInspector"/>) and the share catalog. Lists join the two: an
/// open's sharing and lease state live in its file actor, its path and session in the wire layer.
/// </summary>
public sealed partial class AdminService
{
    public const string ServiceName = "castorage.admin.v1.Admin";

    private readonly AdminNode _node;
    private readonly ISessionDirectory _sessions;
    private readonly IFileStateInspector _state;
    private readonly IShareCatalog _shares;
    private readonly Func<IReadOnlyList<KeyValuePair<string, string>>> _settings;
    private readonly HealthService _health;
    private readonly ILogger _log;

    public AdminService(AdminNode node, ISessionDirectory sessions, IFileStateInspector state, IShareCatalog shares,
        Func<IReadOnlyList<KeyValuePair<string, string>>> settings, HealthService health, ILoggerFactory loggers)
    {
        _node = node;
        _sessions = sessions;
        _state = state;
        _shares = shares;
        _settings = settings;
        _health = health;
        _log = loggers.CreateLogger("CaStorage.Admin");
        _health.SetStatus(ServiceName, ServingStatus.Serving);
        UpdateHealth();
    }

    private static readonly ServiceDescriptor Service = AdminReflection.Descriptor.Services.Single(s => s.Name == "Admin");

    public static MethodDescriptor Method(string name) => Service.FindMethodByName(name) ?? throw new ArgumentException($"no method {name}");

    public void MapTo(GrpcMethodTable table)
    {
        MapRelayed<ListNodesRequest, ListNodesResponse>(table, "ListNodes", ListNodesAsync);
        MapRelayed(table, "ListSessions", ClusterWide<ListSessionsRequest, ListSessionsResponse>("ListSessions", ListSessions));
        MapRelayed(table, "ListTreeConnects", ClusterWide<ListTreeConnectsRequest, ListTreeConnectsResponse>("ListTreeConnects", ListTreeConnects));
        MapRelayed(table, "ListOpens", ClusterWide<ListOpensRequest, ListOpensResponse>("ListOpens", ListOpensAsync));
        MapRelayed(table, "ListLocks", ClusterWide<ListLocksRequest, ListLocksResponse>("ListLocks", ListLocksAsync));
        MapRelayed(table, "ListLeases", ClusterWide<ListLeasesRequest, ListLeasesResponse>("ListLeases", ListLeasesAsync));
        MapRelayed(table, "CloseOpen", WhereItIs<CloseOpenRequest, CloseOpenResponse>("CloseOpen", CloseOpenHereAsync, q => $"open {q.PersistentId:x16}"));
        MapRelayed(table, "Logoff", WhereItIs<LogoffRequest, LogoffResponse>("Logoff", LogoffHereAsync, q => $"session {q.SessionId:x16}"));
        MapRelayed<DrainRequest, DrainResponse>(table, "Drain", (q, c) => Drain(q, c));
        table.MapUnary<ListSharesRequest, ListSharesResponse>(Method("ListShares"), ListShares);
        table.MapUnary<AddShareRequest, ShareResponse>(Method("AddShare"), AddShare);
        table.MapUnary<SetShareRequest, ShareResponse>(Method("SetShare"), SetShare);
        table.MapUnary<RemoveShareRequest, RemoveShareResponse>(Method("RemoveShare"), RemoveShare);
        table.MapUnary<GetConfigRequest, GetConfigResponse>(Method("GetConfig"), GetConfig);
    }

    // ---- nodes ----------------------------------------------------------------------------------------------

    /// <summary>Set on a cluster node: the nodes and shard owners, and draining that hands shards off.</summary>
    public IClusterInspector? Cluster
    {
        get => _cluster;
        init
        {
            _cluster = value;
            if (value is not null) value.AdminHandler = RelayedAsync;
        }
    }

    private readonly IClusterInspector? _cluster;

    private async ValueTask<ListNodesResponse> ListNodesAsync(ListNodesRequest request, RpcCallContext call)
    {
        var response = new ListNodesResponse { ShardCount = (uint)_state.ShardCount };
        if (Cluster is not { } cluster || request.ThisNodeOnly)
        {
            var self = WithCounts(new Node
            {
                Id = _node.Id,
                State = "up",
                StartedAt = Timestamp.FromDateTimeOffset(_node.StartedAt),
            });
            self.SmbEndpoints.AddRange(_node.SmbEndpoints);
            self.OwnedShards.AddRange(_state.OwnedShards.Select(s => (uint)s));
            response.Nodes.Add(self);
            return response;
        }
        foreach (var m in cluster.Members())
        {
            var n = new Node
            {
                Id = m.NodeId,
                State = m.Live ? m.State : "down",
                StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(m.StartedAtMs)),
            };
            if (m.SmbEndpoint.Length > 0) n.SmbEndpoints.Add(m.SmbEndpoint);
            n.OwnedShards.AddRange(m.OwnedShards.Select(s => (uint)s));
            if (m.NodeId == _node.Id) WithCounts(n);
            response.Nodes.Add(n);
        }
        // Each live peer tells its own counts (its clients are connected there); shard owners come from the store.
        foreach (var part in await cluster.CallOthersAsync("ListNodes", ThisNodeOnly(request), call.CancellationToken).ConfigureAwait(false))
        {
            foreach (var peer in ListNodesResponse.Parser.ParseFrom(part).Nodes)
            {
                if (response.Nodes.FirstOrDefault(n => n.Id == peer.Id) is not { } n) continue;
                n.AdminEndpoint = peer.AdminEndpoint;
                n.SessionCount = peer.SessionCount;
                n.ConnectionCount = peer.ConnectionCount;
                n.OpenCount = peer.OpenCount;
                n.Version = peer.Version;
                if (peer.State == "draining") n.State = "draining";
            }
        }
        return response;
    }

    /// <summary>This node's own figures: what only it knows (its connections, its admin address).</summary>
    private Node WithCounts(Node n)
    {
        n.AdminEndpoint = _node.AdminEndpoint;
        n.SessionCount = (uint)_sessions.ListSessions().Count;
        n.ConnectionCount = (uint)_sessions.ConnectionCount;
        n.OpenCount = (uint)_sessions.ListOpens().Count;
        n.Version = _node.Version;
        if (_sessions.Draining) n.State = "draining";
        return n;
    }

    private async ValueTask<DrainResponse> Drain(DrainRequest request, RpcCallContext call)
    {
        if (request.Node.Length > 0 && !string.Equals(request.Node, _node.Id, StringComparison.Ordinal))
            return await DrainElsewhereAsync(request, call).ConfigureAwait(false);
        _sessions.Draining = !request.Cancel;
        UpdateHealth();
        // In a cluster the node's shards go to the others; its clients then move as they reconnect through the front.
        if (Cluster is { } cluster) await cluster.DrainAsync(!request.Cancel).ConfigureAwait(false);
        AdminLog.Drain(_log, call.Peer, _node.Id, _sessions.Draining);
        return new DrainResponse
        {
            Node = _node.Id,
            Draining = _sessions.Draining,
            RemainingSessions = (uint)_sessions.ListSessions().Count,
            RemainingConnections = (uint)_sessions.ConnectionCount,
        };
    }

    /// <summary>A draining node reports NOT_SERVING, so readiness probes and load balancers stop sending clients.</summary>
    private void UpdateHealth() => _health.SetStatus("", _sessions.Draining ? ServingStatus.NotServing : ServingStatus.Serving);

    // ---- sessions, trees ------------------------------------------------------------------------------------

    private ValueTask<ListSessionsResponse> ListSessions(ListSessionsRequest request, RpcCallContext call)
    {
        var response = new ListSessionsResponse();
        foreach (var s in _sessions.ListSessions())
        {
            response.Sessions.Add(new Session
            {
                SessionId = s.Id,
                User = s.User,
                Domain = s.Domain,
                ClientAddress = s.ClientAddress,
                Dialect = s.Dialect,
                Node = _node.Id,
                SigningRequired = s.SigningRequired,
                Encrypted = s.Encrypted,
                OpenCount = (uint)s.OpenCount,
                TreeCount = (uint)s.TreeCount,
                ChannelCount = (uint)s.ChannelCount,
                ClientGuid = s.ClientGuid.ToString(),
                Guest = s.Guest,
                Anonymous = s.Anonymous,
                State = s.State,
            });
        }
        return ValueTask.FromResult(response);
    }

    private ValueTask<ListTreeConnectsResponse> ListTreeConnects(ListTreeConnectsRequest request, RpcCallContext call)
    {
        var response = new ListTreeConnectsResponse();
        foreach (var t in _sessions.ListTreeConnects())
        {
            if (request.SessionId != 0 && t.SessionId != request.SessionId) continue;
            response.TreeConnects.Add(new TreeConnect
            {
                SessionId = t.SessionId,
                TreeId = t.TreeId,
                Share = t.Share,
                User = t.User,
                Node = _node.Id,
                OpenCount = (uint)t.OpenCount,
                EncryptData = t.EncryptData,
            });
        }
        return ValueTask.FromResult(response);
    }

    /// <summary>Logs the session off if it is connected here; null when it is not.</summary>
    private async ValueTask<LogoffResponse?> LogoffHereAsync(LogoffRequest request, RpcCallContext call)
    {
        if (request.SessionId == 0) throw Refuse(call, new RpcException(RpcStatusCode.InvalidArgument, "session_id is required"));
        if (await _sessions.LogoffAsync(request.SessionId).ConfigureAwait(false) is not { } result) return null;
        AdminLog.SessionLoggedOff(_log, call.Peer, request.SessionId, result.Session.User, result.ClosedOpens);
        return new LogoffResponse { SessionId = request.SessionId, User = result.Session.User, ClosedOpens = (uint)result.ClosedOpens };
    }

    /// <summary>Logs a refused mutating call and returns the exception to throw.</summary>
    private RpcException Refuse(RpcCallContext call, RpcException ex)
    {
        AdminLog.MutationFailed(_log, call.Peer, call.Method, ex.StatusName, ex.Message);
        return ex;
    }

    internal static string OplockName(byte level) => level switch
    {
        OplockLevel.None => "none",
        OplockLevel.LevelII => "level2",
        OplockLevel.Exclusive => "exclusive",
        OplockLevel.Batch => "batch",
        OplockLevel.Lease => "lease",
        _ => $"0x{level:x2}",
    };

    /// <summary>A lease key as its 16 bytes appear on the wire (and in packet captures), in hex.</summary>
    internal static string LeaseKeyText(Guid key) => Convert.ToHexStringLower(key.ToByteArray());

    /// <summary>"RWH" letters of a lease state; "" for none.</summary>
    internal static string LeaseStateName(LeaseState state) =>
        ((state & LeaseState.Read) != 0 ? "R" : "") + ((state & LeaseState.Write) != 0 ? "W" : "") + ((state & LeaseState.Handle) != 0 ? "H" : "");
}
