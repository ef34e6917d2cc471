using System.CommandLine;
using CaStorage.Admin.V1;
using CaStorage.Rpc.Services;
using Grpc.Health.V1;

namespace CaStorage.Cli;

internal static partial class CastorCtl
{
    private static void AddListCommands(RootCommand root)
    {
        root.Subcommands.Add(Define("nodes", "nodes and the shards they own", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<ListNodesRequest, ListNodesResponse>("ListNodes", new(), ct).ConfigureAwait(false);
            o.Write(r, r.Nodes,
                ("NODE", n => n.Id), ("STATE", n => n.State), ("SMB", n => string.Join(",", n.SmbEndpoints)), ("ADMIN", n => n.AdminEndpoint),
                ("SHARDS", n => $"{n.OwnedShards.Count}/{r.ShardCount}"), ("SESSIONS", n => n.SessionCount.ToString()),
                ("CONNECTIONS", n => n.ConnectionCount.ToString()), ("OPENS", n => n.OpenCount.ToString()),
                ("STARTED", n => n.StartedAt?.ToDateTimeOffset().ToString("u") ?? ""), ("VERSION", n => n.Version));
        }));

        root.Subcommands.Add(Define("sessions", "SMB sessions", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<ListSessionsRequest, ListSessionsResponse>("ListSessions", new(), ct).ConfigureAwait(false);
            o.Write(r, r.Sessions,
                ("SESSION", s => Ids.Format(s.SessionId)), ("USER", s => s.Domain.Length > 0 ? $"{s.Domain}\\{s.User}" : s.User),
                ("CLIENT", s => s.ClientAddress), ("DIALECT", s => s.Dialect), ("NODE", s => s.Node),
                ("SIGNED", s => YesNo(s.SigningRequired)), ("ENCRYPTED", s => YesNo(s.Encrypted)), ("TREES", s => s.TreeCount.ToString()),
                ("OPENS", s => s.OpenCount.ToString()), ("CHANNELS", s => s.ChannelCount.ToString()), ("STATE", s => s.State));
        }));

        var treeSession = new Option<string?>("--session") { Description = "only this session's trees" };
        root.Subcommands.Add(Define("trees", "tree connects", async (c, o, p, ct) =>
        {
            var request = new ListTreeConnectsRequest();
            if (p.GetValue(treeSession) is { } sid) request.SessionId = ParseId(sid, "session");
            var r = await c.CallAsync<ListTreeConnectsRequest, ListTreeConnectsResponse>("ListTreeConnects", request, ct).ConfigureAwait(false);
            o.Write(r, r.TreeConnects,
                ("SESSION", t => Ids.Format(t.SessionId)), ("TREE", t => t.TreeId.ToString()), ("SHARE", t => t.Share), ("USER", t => t.User),
                ("NODE", t => t.Node), ("OPENS", t => t.OpenCount.ToString()), ("ENCRYPT", t => YesNo(t.EncryptData)));
        }, treeSession));

        var openSession = new Option<string?>("--session") { Description = "only this session's opens" };
        var openShare = new Option<string?>("--share") { Description = "only opens on this share" };
        root.Subcommands.Add(Define("opens", "open handles (durable, persistent, disconnected)", async (c, o, p, ct) =>
        {
            var request = new ListOpensRequest { Share = p.GetValue(openShare) ?? "" };
            if (p.GetValue(openSession) is { } sid) request.SessionId = ParseId(sid, "session");
            var r = await c.CallAsync<ListOpensRequest, ListOpensResponse>("ListOpens", request, ct).ConfigureAwait(false);
            o.Write(r, r.Opens,
                ("ID", x => Ids.Format(x.PersistentId)), ("SESSION", x => Ids.Format(x.SessionId)), ("SHARE", x => x.Share), ("PATH", x => x.Path),
                ("USER", x => x.User), ("ACCESS", x => $"0x{x.Access:x}"), ("SHARING", x => Sharing(x.ShareAccess)),
                ("OPLOCK", x => x.Oplock == "lease" ? $"lease {x.LeaseState}" : x.Oplock),
                ("FLAGS", x => string.Join(",", new[] { x.Durable ? "durable" : null, x.Persistent ? "persistent" : null, x.Disconnected ? "disconnected" : null }.Where(f => f is not null))),
                ("NODE", x => x.OwnerNode));
        }, openSession, openShare));

        root.Subcommands.Add(Define("locks", "byte-range locks", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<ListLocksRequest, ListLocksResponse>("ListLocks", new(), ct).ConfigureAwait(false);
            o.Write(r, r.Locks,
                ("OPEN", l => Ids.Format(l.PersistentId)), ("SESSION", l => Ids.Format(l.SessionId)), ("SHARE", l => l.Share), ("PATH", l => l.Path),
                ("OFFSET", l => l.Offset.ToString()), ("LENGTH", l => l.Length.ToString()), ("MODE", l => l.Exclusive ? "exclusive" : "shared"),
                ("NODE", l => l.OwnerNode));
        }));

        root.Subcommands.Add(Define("leases", "leases and breaks in progress", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<ListLeasesRequest, ListLeasesResponse>("ListLeases", new(), ct).ConfigureAwait(false);
            o.Write(r, r.Leases,
                ("CLIENT", l => l.ClientGuid), ("KEY", l => l.LeaseKey), ("SHARE", l => l.Share), ("PATH", l => l.Path), ("STATE", l => l.State),
                ("BREAKING", l => l.Breaking ? $"-> {l.BreakingTo}" : ""), ("EPOCH", l => l.Epoch.ToString()), ("V", l => l.Version.ToString()),
                ("OPENS", l => l.OpenCount.ToString()), ("NODE", l => l.OwnerNode));
        }));

        root.Subcommands.Add(Define("shares", "shares and their VFS stacks", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<ListSharesRequest, ListSharesResponse>("ListShares", new(), ct).ConfigureAwait(false);
            WriteShares(o, r, r.Shares);
        }));

        root.Subcommands.Add(Define("config", "the node's effective configuration (secrets redacted)", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<GetConfigRequest, GetConfigResponse>("GetConfig", new(), ct).ConfigureAwait(false);
            o.Write(r, r.Settings, ("KEY", s => s.Key), ("VALUE", s => s.Value));
        }));

        var service = new Option<string>("--service") { Description = "service to ask about (default: the server as a whole)", DefaultValueFactory = _ => "" };
        root.Subcommands.Add(Define("health", "grpc.health.v1 status of the node (SERVING, NOT_SERVING while draining)", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<HealthCheckRequest, HealthCheckResponse>(HealthService.CheckMethod,
                new HealthCheckRequest { Service = p.GetValue(service) ?? "" }, ct).ConfigureAwait(false);
            o.Done(r, r.Status == HealthCheckResponse.Types.ServingStatus.Serving ? "SERVING" : r.Status == HealthCheckResponse.Types.ServingStatus.NotServing ? "NOT_SERVING" : r.Status.ToString().ToUpperInvariant());
            if (r.Status != HealthCheckResponse.Types.ServingStatus.Serving) throw new ExitCodeException(1);
        }, service));
    }

    private static void WriteShares(Output o, Google.Protobuf.IMessage response, IEnumerable<Share> shares) =>
        o.Write(response, shares,
            ("NAME", s => s.Name), ("PATH", s => s.Path), ("VFS", s => string.Join(",", s.Vfs)),
            ("OPTIONS", s => string.Join(" ", s.Options.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))),
            ("RO", s => YesNo(s.ReadOnly)), ("CA", s => s.ContinuouslyAvailable ? (s.CaEffective ? "yes" : "asked, not possible") : "no"),
            ("ENCRYPT", s => YesNo(s.Encrypt)));

    private static string YesNo(bool b) => b ? "yes" : "no";

    /// <summary>FILE_SHARE_READ (1) / WRITE (2) / DELETE (4) as "RWD" letters.</summary>
    private static string Sharing(uint share) => ((share & 1) != 0 ? "R" : "-") + ((share & 2) != 0 ? "W" : "-") + ((share & 4) != 0 ? "D" : "-");
}
