namespace CaStorage.Vfs;

/// <summary>
/// Builds a share's module stack from names and Samba-style "module:option" settings.
/// The first module named is called first; every module but the last must be transparent and the last
/// must be opaque (nothing is appended implicitly). Unknown modules and options are rejected.
/// </summary>
public sealed class VfsStackBuilder
{
    private readonly VfsModuleRegistry _registry;

    public VfsStackBuilder(VfsModuleRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
    }

    public VfsStack Build(string shareName, string rootPath, IReadOnlyList<string> moduleNames, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentNullException.ThrowIfNull(moduleNames);
        if (string.IsNullOrWhiteSpace(shareName)) throw new VfsConfigurationException("a share needs a name");
        if (moduleNames.Count == 0)
            throw new VfsConfigurationException($"share '{shareName}': the VFS stack is empty; it must end with an opaque module such as 'posix'");

        var registrations = new List<VfsModuleRegistry.Registration>(moduleNames.Count);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in moduleNames)
        {
            var name = raw?.Trim() ?? "";
            if (!_registry.TryGet(name, out var reg))
            {
                throw new VfsConfigurationException(
                    $"share '{shareName}': unknown VFS module '{raw}' (known: {string.Join(", ", _registry.ModuleNames)})");
            }
            if (!seen.Add(reg.Name))
                throw new VfsConfigurationException($"share '{shareName}': VFS module '{reg.Name}' appears more than once in the stack");
            registrations.Add(reg);
        }

        // Split "module:option" keys per module and reject anything unknown.
        var perModule = registrations.ToDictionary(r => r.Name,
            _ => new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in options ?? new Dictionary<string, string>())
        {
            var colon = key.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == key.Length - 1)
                throw new VfsConfigurationException($"share '{shareName}': option '{key}' is not of the form 'module:option'");
            var module = key[..colon].Trim();
            var option = key[(colon + 1)..].Trim();
            var reg = registrations.FirstOrDefault(r => string.Equals(r.Name, module, StringComparison.OrdinalIgnoreCase));
            if (reg is null)
            {
                var why = _registry.Contains(module) ? "that module is not in this share's stack" : "there is no such module";
                throw new VfsConfigurationException($"share '{shareName}': option '{key}' names module '{module}', but {why}");
            }
            if (!reg.OptionNames.Contains(option))
            {
                var known = reg.OptionNames.Count == 0 ? "it takes no options" : "known: " + string.Join(", ", reg.OptionNames.Order(StringComparer.Ordinal).Select(o => $"{reg.Name}:{o}"));
                throw new VfsConfigurationException($"share '{shareName}': unknown option '{key}' for VFS module '{reg.Name}' ({known})");
            }
            if (!perModule[reg.Name].TryAdd(option, value))
                throw new VfsConfigurationException($"share '{shareName}': option '{key}' is given more than once");
        }

        var modules = new List<IVfsOperations>(registrations.Count);
        foreach (var reg in registrations)
        {
            var ctx = new VfsModuleContext(reg.Name, shareName, rootPath, perModule[reg.Name], _registry.LoggerFactory, _registry.TimeProvider);
            IVfsOperations module;
            try
            {
                module = reg.Factory(ctx) ?? throw new VfsConfigurationException($"share '{shareName}': VFS module '{reg.Name}' factory returned null");
            }
            catch (VfsConfigurationException) { throw; }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException or IOException)
            {
                throw new VfsConfigurationException($"share '{shareName}': VFS module '{reg.Name}' could not be created: {ex.Message}", ex);
            }
            modules.Add(module);
        }

        for (var i = 0; i < modules.Count; i++)
        {
            var last = i == modules.Count - 1;
            var m = modules[i];
            if (last && m is not OpaqueVfsModule)
            {
                throw new VfsConfigurationException(
                    $"share '{shareName}': the last VFS module '{registrations[i].Name}' is not opaque; a stack must end with an opaque module such as 'posix'");
            }
            if (!last && m is not TransparentVfsModule)
            {
                throw new VfsConfigurationException(
                    $"share '{shareName}': VFS module '{registrations[i].Name}' is opaque and must be the last module of the stack");
            }
        }
        for (var i = 0; i < modules.Count - 1; i++) ((TransparentVfsModule)modules[i]).AttachNext(modules[i + 1]);

        return new VfsStack(shareName, rootPath, modules);
    }
}
