using System.IO.Pipelines;
using System.Net;
using CaStorage.Core;
using CaStorage.Smb.Security;
using CaStorage.Smb.Server;
using CaStorage.State;
using CaStorage.Vfs;
using Microsoft.Extensions.Logging;

namespace CaStorage.Smb.Tests.Server;

/// <summary>A server context over a temporary share, with in-memory connections (no sockets).</summary>
internal sealed class TestServer : IDisposable
{
    public const string User = "alice", Password = "Secret-1";
    public const string User2 = "bob", Password2 = "Secret-2";

    public TestServer(SmbServerSettings? settings = null)
    {
        Root = Path.Combine(Path.GetTempPath(), "cas-smbtest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Logs = new CapturingLoggerFactory();
        var registry = VfsModuleRegistry.CreateDefault(Logs, TimeProvider.System);
        var stack = new VfsStackBuilder(registry).Build("share", Root, ["posix"]);
        Context = new SmbServerContext(settings ?? new SmbServerSettings(), [new SmbShare("share", stack)],
            new Dictionary<string, byte[]> { [User] = NtHash.FromPassword(Password), [User2] = NtHash.FromPassword(Password2) },
            FileStateServices.CreateLocal(Notifier, TimeProvider.System), Logs, TimeProvider.System, Notifier);
    }

    public SmbClientNotifier Notifier { get; } = new();
    public string Root { get; }
    public SmbServerContext Context { get; }
    public CapturingLoggerFactory Logs { get; }

    /// <summary>Starts a server connection on a pipe pair and returns the client's ends.</summary>
    public (IDuplexPipe Client, Task Server) Connect()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var serverSide = new DuplexPipe(toServer.Reader, toClient.Writer);
        var clientSide = new DuplexPipe(toClient.Reader, toServer.Writer);
        var conn = new SmbConnection(Guid.NewGuid().ToString("N"), serverSide, new IPEndPoint(IPAddress.Loopback, 445),
            new IPEndPoint(IPAddress.Loopback, 50000), Context);
        return (clientSide, Task.Run(conn.RunAsync));
    }

    /// <summary>A client that negotiated <paramref name="dialect"/>, logged on as <see cref="User"/> and connected to the share.</summary>
    public async Task<TestSmbClient> LoggedOnAsync(ushort dialect = 0x0302)
    {
        var (pipe, _) = Connect();
        var c = new TestSmbClient(pipe);
        Assert.Equal(NtStatus.Success, (await c.NegotiateAsync(dialect)).Status);
        Assert.Equal(NtStatus.Success, (await c.SessionSetupAsync(User, Password)).Status);
        Assert.Equal(NtStatus.Success, (await c.TreeConnectAsync(@"\\server\share")).Status);
        return c;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>Collects error-level log entries so tests can assert that no handler crashed.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _errors = new();
    public IReadOnlyCollection<string> Errors => _errors;
    public void AddProvider(ILoggerProvider provider) { }
    public ILogger CreateLogger(string categoryName) => new L(this);
    public void Dispose() { }

    private sealed class L(CapturingLoggerFactory f) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error) f._errors.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
