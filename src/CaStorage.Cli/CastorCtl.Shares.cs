using System.CommandLine;
using CaStorage.Admin.V1;

namespace CaStorage.Cli;

internal static partial class CastorCtl
{
    private static void AddShareCommands(RootCommand root)
    {
        var share = new Command("share", "add, change or remove a share (takes effect without a restart)");
        share.Subcommands.Add(DefineShareCommand("add", "add a share", set: false));
        share.Subcommands.Add(DefineShareCommand("set", "replace a share's definition (the options not given are reset)", set: true));

        var name = new Argument<string>("NAME");
        share.Subcommands.Add(Define("rm", "remove a share (connected trees keep working until they disconnect)", async (c, o, p, ct) =>
        {
            var r = await c.CallAsync<RemoveShareRequest, RemoveShareResponse>("RemoveShare", new RemoveShareRequest { Name = p.GetValue(name)! }, ct).ConfigureAwait(false);
            o.Done(r, $"removed share {r.Name} ({r.ConnectedTrees} tree connects still use it)");
        }, name));
        root.Subcommands.Add(share);
    }

    private static Command DefineShareCommand(string verb, string description, bool set)
    {
        var name = new Argument<string>("NAME");
        var path = new Argument<string>("PATH") { Description = "absolute path of the share's root" };
        var vfs = new Option<string?>("--vfs") { Description = "VFS modules, first called first, comma-separated (default posix), e.g. audit,recycle,posix" };
        var options = new Option<string[]>("--option") { Description = "module option MODULE:NAME=VALUE (repeatable), e.g. recycle:repository=.trash" };
        var readOnly = new Option<bool>("--read-only") { Description = "refuse writes" };
        var ca = new Option<bool>("--ca") { Description = "continuously available (persistent handles), if the stack allows it" };
        var encrypt = new Option<bool>("--encrypt") { Description = "require SMB 3.x encryption on this share" };
        return Define(verb, description, async (c, o, p, ct) =>
        {
            var definition = new Share
            {
                Name = p.GetValue(name)!,
                Path = p.GetValue(path)!,
                ReadOnly = p.GetValue(readOnly),
                ContinuouslyAvailable = p.GetValue(ca),
                Encrypt = p.GetValue(encrypt),
            };
            if (p.GetValue(vfs) is { Length: > 0 } modules)
                definition.Vfs.AddRange(modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            foreach (var kv in p.GetValue(options) ?? [])
            {
                var eq = kv.IndexOf('=');
                if (eq <= 0) throw new UsageException($"--option expects MODULE:NAME=VALUE, got '{kv}'");
                definition.Options[kv[..eq]] = kv[(eq + 1)..];
            }
            var r = set
                ? await c.CallAsync<SetShareRequest, ShareResponse>("SetShare", new SetShareRequest { Share = definition }, ct).ConfigureAwait(false)
                : await c.CallAsync<AddShareRequest, ShareResponse>("AddShare", new AddShareRequest { Share = definition }, ct).ConfigureAwait(false);
            WriteShares(o, r, [r.Share]);
        }, name, path, vfs, options, readOnly, ca, encrypt);
    }
}
