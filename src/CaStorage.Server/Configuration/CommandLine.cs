namespace CaStorage.Server.Configuration;

/// <summary>The quick-start flags. They add to (and for --listen/--data replace) what the JSON config says.</summary>
internal sealed class CommandLine
{
    public List<string> Listen { get; } = [];
    public string? Data { get; private set; }
    public List<(string Name, string Path, bool Ca)> Shares { get; } = [];
    public List<(string Name, string Password)> Users { get; } = [];
    public string? ConfigFile { get; private set; }
    public bool? SigningRequired { get; private set; }
    public string? Encryption { get; private set; }
    public string? Admin { get; private set; }
    public string? Metrics { get; private set; }
    public string? Postgres { get; private set; }
    public string? NodeId { get; private set; }
    public string? ClusterListen { get; private set; }
    public bool Help { get; private set; }

    public const string Usage = """
        castorage: a clustered, continuously available SMB 2/3 file server

        Usage: castorage [options]

          --listen ADDR:PORT       SMB address to listen on (repeatable; default 0.0.0.0:445)
          --data DIR               state directory and home of the default share (default ./data)
          --share NAME=PATH[,ca]   serve PATH as share NAME (repeatable; ",ca" = continuously available)
                                   without any --share or configured share: share "share" on DIR/share
          --user NAME:PASSWORD     add a user (repeatable); only the NT hash is kept, in memory
          --signing-required       require SMB signing on every session
          --encryption MODE        SMB 3.x encryption: off, enabled (default), desired, required
          --admin ADDR:PORT|off    admin gRPC address (default 127.0.0.1:4460; non-loopback needs Admin:Token)
          --metrics ADDR:PORT|off  Prometheus metrics address, GET /metrics (default 127.0.0.1:4461)
          --postgres CONNSTR       join a cluster: shared state in PostgreSQL (default: one node, SQLite in DIR)
          --node-id ID             this node's name in the state store (default: the host name)
          --cluster-listen A:P     with --postgres: address peers reach this node's file actors on (HTTP/2)
          --config FILE            JSON configuration file (section "CaStorage"); environment variables
                                   override it in .NET form, e.g. CaStorage__Signing__Required=true
          --help                   show this help

        Example: castorage --listen 127.0.0.1:4450 --data /tmp/cas --user alice:secret
        """;

    public static CommandLine Parse(string[] args, out string? error)
    {
        var c = new CommandLine();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next()
            {
                if (i + 1 >= args.Length) throw new ArgumentException($"{a} needs a value");
                return args[++i];
            }
            try
            {
                switch (a)
                {
                    case "--help" or "-h" or "-?": c.Help = true; break;
                    case "--listen": c.Listen.Add(Next()); break;
                    case "--data": c.Data = Next(); break;
                    case "--config": c.ConfigFile = Next(); break;
                    case "--signing-required": c.SigningRequired = true; break;
                    case "--encryption": c.Encryption = Next(); break;
                    case "--admin": c.Admin = Next(); break;
                    case "--metrics": c.Metrics = Next(); break;
                    case "--postgres": c.Postgres = Next(); break;
                    case "--node-id": c.NodeId = Next(); break;
                    case "--cluster-listen": c.ClusterListen = Next(); break;
                    case "--share":
                        {
                            var v = Next();
                            var eq = v.IndexOf('=');
                            if (eq <= 0) throw new ArgumentException($"--share expects NAME=PATH[,ca], got '{v}'");
                            var name = v[..eq];
                            var path = v[(eq + 1)..];
                            var ca = false;
                            if (path.EndsWith(",ca", StringComparison.OrdinalIgnoreCase)) { ca = true; path = path[..^3]; }
                            if (path.Length == 0) throw new ArgumentException($"--share {name}: empty path");
                            c.Shares.Add((name, path, ca));
                            break;
                        }
                    case "--user":
                        {
                            var v = Next();
                            var colon = v.IndexOf(':');
                            if (colon <= 0) throw new ArgumentException("--user expects NAME:PASSWORD");
                            c.Users.Add((v[..colon], v[(colon + 1)..]));
                            break;
                        }
                    default: throw new ArgumentException($"unknown option '{a}' (see --help)");
                }
            }
            catch (ArgumentException ex)
            {
                error = ex.Message;
                return c;
            }
        }
        return c;
    }
}
