using System.Security.Cryptography;
using System.Text;
using CaStorage.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.Vfs.Tests.Support;

/// <summary>
/// A temporary share under /tmp: <see cref="Root"/> is the share, <see cref="Outside"/> a sibling directory
/// (with a sentinel file) that no operation may touch. Deleted on dispose.
/// </summary>
public sealed class TempShare : IAsyncDisposable
{
    private TempShare(string @base)
    {
        Base = @base;
        Root = Path.Combine(@base, "share");
        Outside = Path.Combine(@base, "outside");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Path.Combine(Outside, "dir"));
        File.WriteAllText(Path.Combine(Outside, "sentinel.txt"), "do not touch");
        File.WriteAllText(Path.Combine(Outside, "dir", "inner.txt"), "nor this");
    }

    public string Base { get; }
    public string Root { get; }
    public string Outside { get; }

    public static TempShare Create() => new(Path.Combine("/tmp", "castorage-vfs-tests-" + Guid.NewGuid().ToString("N")));

    public string InRoot(string relative) => Path.Combine(Root, relative.Replace('\\', '/'));

    public VfsStack Build(IReadOnlyList<string> modules, IReadOnlyDictionary<string, string>? options = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? time = null, string shareName = "share")
    {
        var registry = VfsModuleRegistry.CreateDefault(loggerFactory ?? NullLoggerFactory.Instance, time ?? TimeProvider.System);
        return new VfsStackBuilder(registry).Build(shareName, Root, modules, options ?? new Dictionary<string, string>());
    }

    public static async Task<VfsTreeContext> ConnectAsync(VfsStack stack, VfsUser? user = null)
    {
        var tree = new VfsTreeContext(stack, user ?? new VfsUser("alice", "TESTDOM"));
        var status = await tree.Ops.ConnectAsync(tree, CancellationToken.None);
        Assert.Equal(NtStatus.Success, status);
        return tree;
    }

    /// <summary>Every entry below <see cref="Outside"/> with type, size, content hash and times.</summary>
    public string SnapshotOutside()
    {
        var sb = new StringBuilder();
        foreach (var path in Directory.EnumerateFileSystemEntries(Outside, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                     .Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            sb.Append(Path.GetRelativePath(Outside, path)).Append('|').Append(info.Attributes).Append('|')
              .Append(info.LastWriteTimeUtc.Ticks).Append('|');
            if (File.Exists(path)) sb.Append(info.Length).Append('|').Append(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (Directory.Exists(Base)) Directory.Delete(Base, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return ValueTask.CompletedTask;
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Captures log records for assertions.</summary>
public sealed class ListLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly List<LogRecord> _records = [];

    public IReadOnlyList<LogRecord> Records
    {
        get { lock (_records) return _records.ToArray(); }
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);
    public void AddProvider(ILoggerProvider provider) { }
    public void Dispose() { }

    private void Add(LogRecord r)
    {
        lock (_records) _records.Add(r);
    }

    public sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> State);

    private sealed class ListLogger(ListLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> kvs)
            {
                foreach (var kv in kvs) values[kv.Key] = kv.Value;
            }
            owner.Add(new LogRecord(category, logLevel, eventId, formatter(state, exception), values));
        }
    }
}
