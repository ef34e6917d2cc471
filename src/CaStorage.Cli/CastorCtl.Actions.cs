using System.CommandLine;
using CaStorage.Admin.V1;

namespace CaStorage.Cli;

internal static partial class CastorCtl
{
    private static void AddActionCommands(RootCommand root)
    {
        var openId = new Argument<string>("ID") { Description = "the open's persistent id (castorctl opens: ID column)" };
        root.Subcommands.Add(Define("close-open", "close an open handle (its client gets STATUS_FILE_CLOSED on the next use)", async (c, o, p, ct) =>
        {
            var id = ParseId(p.GetValue(openId)!, "open");
            var r = await c.CallAsync<CloseOpenRequest, CloseOpenResponse>("CloseOpen", new CloseOpenRequest { PersistentId = id }, ct).ConfigureAwait(false);
            o.Done(r, $"closed {Ids.Format(r.PersistentId)} ({r.Share}:{r.Path}) of session {Ids.Format(r.SessionId)}");
        }, openId));

        var sessionId = new Argument<string>("SESSIONID") { Description = "session id (castorctl sessions: SESSION column)" };
        root.Subcommands.Add(Define("logoff", "end a session: its trees and opens are closed", async (c, o, p, ct) =>
        {
            var id = ParseId(p.GetValue(sessionId)!, "session");
            var r = await c.CallAsync<LogoffRequest, LogoffResponse>("Logoff", new LogoffRequest { SessionId = id }, ct).ConfigureAwait(false);
            o.Done(r, $"logged off {Ids.Format(r.SessionId)} (user {r.User}, {r.ClosedOpens} opens closed)");
        }, sessionId));

        var node = new Argument<string>("NODE") { Description = "node id (castorctl nodes); omit for the node you talk to", Arity = ArgumentArity.ZeroOrOne };
        var cancel = new Option<bool>("--cancel") { Description = "stop draining: accept new clients again" };
        root.Subcommands.Add(Define("drain", "stop taking new clients on a node (health turns NOT_SERVING)", async (c, o, p, ct) =>
        {
            var request = new DrainRequest { Node = p.GetValue(node) ?? "", Cancel = p.GetValue(cancel) };
            var r = await c.CallAsync<DrainRequest, DrainResponse>("Drain", request, ct).ConfigureAwait(false);
            o.Done(r, r.Draining
                ? $"node {r.Node} is draining: {r.RemainingSessions} sessions on {r.RemainingConnections} connections remain"
                : $"node {r.Node} accepts new clients");
        }, node, cancel));
    }
}
