using CaStorage.Admin;
using CaStorage.Server.Configuration;
using CaStorage.Smb.Server;
using CaStorage.Vfs;

namespace CaStorage.Server;

/// <summary>
/// The node's shares as the admin API changes them: a definition is validated by building its VFS stack exactly as
/// at startup (unknown module or option, a stack without an opaque module last, a bad name or path are refused),
/// then swapped into the server context, where the next TREE_CONNECT finds it. Trees already connected keep the
/// stack they connected with.
/// </summary>
internal sealed class ShareCatalog(SmbServerContext server, VfsModuleRegistry registry, IEnumerable<ShareOptions> initial) : IShareCatalog
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ShareOptions> _definitions = initial.ToDictionary(s => s.Name, Copy, StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<ShareDefinition> List()
    {
        lock (_lock) return _definitions.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Select(ToDefinition).ToArray();
    }

    public ShareDefinition Add(ShareDefinition share)
    {
        lock (_lock)
        {
            if (_definitions.ContainsKey(share.Name) || server.TryGetShare(share.Name, out _))
                throw new ShareExistsException($"share '{share.Name}' exists already (use set to change it)");
            return Apply(share);
        }
    }

    public ShareDefinition Set(ShareDefinition share)
    {
        lock (_lock)
        {
            if (!_definitions.ContainsKey(share.Name)) throw new KeyNotFoundException($"no share '{share.Name}' (use add to create it)");
            return Apply(share);
        }
    }

    public int? Remove(string name)
    {
        lock (_lock)
        {
            if (!_definitions.Remove(name)) return null;
            server.RemoveShare(name);
            return server.ListTreeConnects().Count(t => string.Equals(t.Share, name, StringComparison.OrdinalIgnoreCase));
        }
    }

    private ShareDefinition Apply(ShareDefinition share)
    {
        if (string.IsNullOrWhiteSpace(share.Path) || !Path.IsPathFullyQualified(share.Path))
            throw new ShareValidationException($"share {share.Name}: path must be absolute, got '{share.Path}'");
        var options = new ShareOptions
        {
            Name = share.Name,
            Path = share.Path,
            Vfs = [.. share.Vfs],
            Options = new Dictionary<string, string>(share.Options),
            ReadOnly = share.ReadOnly,
            ContinuouslyAvailable = share.ContinuouslyAvailable,
            Encrypt = share.Encrypt,
        };
        SmbShare built;
        try
        {
            // Modules and options first, so a typo is reported as such before anything touches the file system.
            new VfsStackBuilder(registry).Build(options.Name, options.Path, options.Vfs.Count == 0 ? ["posix"] : options.Vfs, options.Options);
            built = NodeHost.BuildShare(options, registry);
        }
        catch (VfsConfigurationException ex)
        {
            throw new ShareValidationException(ex.Message);
        }
        catch (ConfigurationException ex)
        {
            throw new ShareValidationException(ex.Message);
        }
        catch (IOException ex)
        {
            throw new ShareValidationException($"share {share.Name}: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ShareValidationException($"share {share.Name}: {ex.Message}");
        }
        server.AddOrUpdateShare(built);
        _definitions[options.Name] = options;
        return ToDefinition(options);
    }

    private ShareDefinition ToDefinition(ShareOptions s) =>
        new(s.Name, s.Path, s.Vfs.Count == 0 ? ["posix"] : [.. s.Vfs], new Dictionary<string, string>(s.Options), s.ReadOnly, s.ContinuouslyAvailable, s.Encrypt)
        {
            CaEffective = server.TryGetShare(s.Name, out var live) && live.ContinuouslyAvailable,
        };

    private static ShareOptions Copy(ShareOptions s) => new()
    {
        Name = s.Name,
        Path = s.Path,
        Vfs = [.. s.Vfs],
        Options = new Dictionary<string, string>(s.Options),
        ReadOnly = s.ReadOnly,
        ContinuouslyAvailable = s.ContinuouslyAvailable,
        Encrypt = s.Encrypt,
    };
}
