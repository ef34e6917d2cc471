using CaStorage.Vfs.Modules;
using CaStorage.Vfs.Posix;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CaStorage.Vfs;

/// <summary>
/// Modules by name (Samba's smb_register_vfs for static modules). A share's stack names modules from here;
/// each registration declares the option names it accepts so the builder can reject typos.
/// </summary>
public sealed class VfsModuleRegistry
{
    private readonly Dictionary<string, Registration> _modules = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    public VfsModuleRegistry(ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    public ILoggerFactory LoggerFactory { get; }
    public TimeProvider TimeProvider { get; }

    /// <summary>Registers a module factory under a name (case-insensitive) with the option names it accepts.</summary>
    public void Register(string name, Func<VfsModuleContext, IVfsOperations> factory, IReadOnlyCollection<string> optionNames)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(optionNames);
        if (name.Any(c => c == ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"invalid VFS module name '{name}'", nameof(name));
        foreach (var o in optionNames)
        {
            if (string.IsNullOrWhiteSpace(o) || o.Contains(':'))
                throw new ArgumentException($"invalid option name '{o}' for VFS module '{name}'", nameof(optionNames));
        }
        var options = new HashSet<string>(optionNames, StringComparer.OrdinalIgnoreCase);
        lock (_lock)
        {
            if (!_modules.TryAdd(name, new Registration(name, factory, options)))
                throw new InvalidOperationException($"a VFS module named '{name}' is already registered");
        }
    }

    public bool Contains(string name)
    {
        lock (_lock) return _modules.ContainsKey(name);
    }

    public IReadOnlyCollection<string> ModuleNames
    {
        get { lock (_lock) return _modules.Keys.Order(StringComparer.Ordinal).ToArray(); }
    }

    public IReadOnlyCollection<string> GetOptionNames(string moduleName)
    {
        lock (_lock)
        {
            return _modules.TryGetValue(moduleName, out var r)
                ? r.OptionNames.Order(StringComparer.Ordinal).ToArray()
                : throw new KeyNotFoundException($"no VFS module named '{moduleName}'");
        }
    }

    internal bool TryGet(string name, out Registration registration)
    {
        lock (_lock) return _modules.TryGetValue(name, out registration!);
    }

    /// <summary>The built-in modules: posix (opaque), readonly, audit, recycle.</summary>
    public static VfsModuleRegistry CreateDefault(ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        var r = new VfsModuleRegistry(loggerFactory, timeProvider);
        r.Register(PosixVfsModule.ModuleName, ctx => new PosixVfsModule(ctx), PosixVfsModule.OptionNames);
        r.Register(ReadOnlyVfsModule.ModuleName, ctx => new ReadOnlyVfsModule(ctx), ReadOnlyVfsModule.OptionNames);
        r.Register(AuditVfsModule.ModuleName, ctx => new AuditVfsModule(ctx), AuditOptions.OptionNames);
        r.Register(RecycleVfsModule.ModuleName, ctx => new RecycleVfsModule(ctx), RecycleOptions.OptionNames);
        return r;
    }

    internal sealed record Registration(string Name, Func<VfsModuleContext, IVfsOperations> Factory, HashSet<string> OptionNames);
}
