using System.CommandLine;
using CaStorage.Rpc;
using Spectre.Console;

namespace CaStorage.Cli;

/// <summary>
/// castorctl: the admin API from a shell. Global options come before or after the command; exit status 0 on
/// success, 1 when the call failed (the gRPC status and message go to stderr), 2 for usage errors.
/// </summary>
internal static partial class CastorCtl
{
    public const string DefaultServer = "127.0.0.1:4460";

    private static readonly Option<string> ServerOption = new("--server", "-s")
    {
        Description = $"admin address ADDR:PORT (default $CASTORCTL_SERVER or {DefaultServer})",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CASTORCTL_SERVER") is { Length: > 0 } s ? s : DefaultServer,
    };

    private static readonly Option<string?> TokenOption =
        FromEnvironment("--token", "CASTORCTL_TOKEN", "bearer token; needed when the node's admin port is not loopback");

    private static readonly Option<string?> CaOption =
        FromEnvironment("--ca", "CASTORCTL_CA", "PEM file of the CA that issued the node's admin certificate; implies TLS");

    private static readonly Option<string?> CertOption =
        FromEnvironment("--cert", "CASTORCTL_CERT", "PEM client certificate for mutual TLS; implies TLS");

    private static readonly Option<string?> KeyOption =
        FromEnvironment("--key", "CASTORCTL_KEY", "PEM private key of --cert when it is not in that file");

    /// <summary>A global option whose default is an environment variable (scripts and the container set those).</summary>
    private static Option<string?> FromEnvironment(string name, string variable, string description) => new(name)
    {
        Description = $"{description} (default ${variable})",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : null,
    };

    private static readonly Option<OutputFormat> OutputOption = new("--output", "-o")
    {
        Description = "table (default) or json",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
        CustomParser = r =>
        {
            var v = r.Tokens.Count > 0 ? r.Tokens[0].Value : "table";
            if (v.Equals("json", StringComparison.OrdinalIgnoreCase)) return OutputFormat.Json;
            if (!v.Equals("table", StringComparison.OrdinalIgnoreCase)) r.AddError($"--output: '{v}' is not table or json");
            return OutputFormat.Table;
        },
    };

    private static readonly Option<double> TimeoutOption = new("--timeout")
    {
        Description = "seconds to wait for an answer (default 10)",
        Recursive = true,
        DefaultValueFactory = _ => 10,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("castorctl: administer a CaStorage node over its admin API (gRPC)");
        root.Options.Add(ServerOption);
        root.Options.Add(TokenOption);
        root.Options.Add(CaOption);
        root.Options.Add(CertOption);
        root.Options.Add(KeyOption);
        root.Options.Add(OutputOption);
        root.Options.Add(TimeoutOption);
        AddListCommands(root);
        AddActionCommands(root);
        AddShareCommands(root);
        var parse = root.Parse(args);
        return await parse.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>Runs one admin call with the global options: connection, output, and one-line errors.</summary>
    private static Action<Command> Handler(Func<AdminConnection, Output, ParseResult, CancellationToken, Task> body) => command =>
        command.SetAction(async (parse, ct) =>
        {
            Uri address;
            SocketsHttpHandler handler;
            try
            {
                var (ca, cert, key) = (parse.GetValue(CaOption), parse.GetValue(CertOption), parse.GetValue(KeyOption));
                address = AdminConnection.ParseAddress(parse.GetValue(ServerOption)!, tls: ca is not null || cert is not null);
                handler = AdminConnection.Handler(ca, cert, key);
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"castorctl: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
            var timeout = TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(TimeoutOption)));
            using var connection = new AdminConnection(new GrpcClient(address, parse.GetValue(TokenOption), handler), timeout);
            var output = new Output(parse.GetValue(OutputOption), CreateConsole());
            try
            {
                await body(connection, output, parse, ct).ConfigureAwait(false);
                return 0;
            }
            catch (RpcException ex)
            {
                await Console.Error.WriteLineAsync($"castorctl: {ex.StatusName}: {ex.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (ExitCodeException ex)
            {
                return ex.Code;
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"castorctl: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        });

    /// <summary>No colours and a wide page when the output goes to a file or pipe, so tables stay one row per line.</summary>
    private static IAnsiConsole CreateConsole()
    {
        if (!Console.IsOutputRedirected) return AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        console.Profile.Width = 400;
        return console;
    }

    private static Command Define(string name, string description, Func<AdminConnection, Output, ParseResult, CancellationToken, Task> body,
        params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var s in symbols)
        {
            switch (s)
            {
                case Argument a: command.Arguments.Add(a); break;
                case Option o: command.Options.Add(o); break;
            }
        }
        Handler(body)(command);
        return command;
    }

    private static ulong ParseId(string text, string what) =>
        Ids.TryParse(text, out var id) && id != 0 ? id : throw new UsageException($"{what} '{text}' is not an id (0x-prefixed hex or decimal)");
}

/// <summary>A bad argument found after parsing (exit status 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Ends the command with this exit status, the output already written (health: NOT_SERVING is 1).</summary>
internal sealed class ExitCodeException(int code) : Exception($"exit {code}")
{
    public int Code { get; } = code;
}
