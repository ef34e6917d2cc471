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
    private readonly Dictionary<string, ShareDefinition> _definitions = initial.ToDictionary(s => s.Name,
        s => new ShareDefinition(s.Name, s.Path, Stack(s.Vfs), new Dictionary<string, string>(s.Options), s.ReadOnly, s.ContinuouslyAvailable, s.Encrypt),
        StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<ShareDefinition> List()
    {
        lock (_lock) return _definitions.Values.OrderBy(s => s.Name, StringComparer.OrdinalIgnoreCase).Select(Live).ToArray();
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
        share = share with { Vfs = Stack(share.Vfs), Options = new Dictionary<string, string>(share.Options) };
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
            new VfsStackBuilder(registry).Build(options.Name, options.Path, options.Vfs, options.Options);
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
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ShareValidationException($"share {share.Name}: {ex.Message}");
        }
        server.AddOrUpdateShare(built);
        _definitions[share.Name] = share;
        return Live(share);
    }

    /// <summary>The stack as served: an empty list means the default, posix alone.</summary>
    private static string[] Stack(IReadOnlyList<string> vfs) => vfs.Count == 0 ? ["posix"] : [.. vfs];

    /// <summary>Whether CA is in effect is the server's answer (the stack must allow it), not the definition's wish.</summary>
    private ShareDefinition Live(ShareDefinition d) => d with { CaEffective = server.TryGetShare(d.Name, out var live) && live.ContinuouslyAvailable };
}
