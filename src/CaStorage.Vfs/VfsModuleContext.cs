using System.Globalization;
using Microsoft.Extensions.Logging;

namespace CaStorage.Vfs;

/// <summary>
/// What a module factory gets when a share's stack is built: the share, its root, the module's own options
/// (Samba-style "module:option" keys with the "module:" prefix removed, compared case-insensitively),
/// a logger factory and the clock. The typed accessors throw <see cref="VfsConfigurationException"/> on bad values.
/// </summary>
public sealed class VfsModuleContext
{
    private static readonly char[] ListSeparators = ['|', ',', ';'];

    public VfsModuleContext(string moduleName, string shareName, string rootPath, IReadOnlyDictionary<string, string> options,
        ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        ModuleName = moduleName;
        ShareName = shareName;
        RootPath = rootPath;
        Options = options;
        LoggerFactory = loggerFactory;
        TimeProvider = timeProvider;
    }

    public string ModuleName { get; }
    public string ShareName { get; }
    public string RootPath { get; }

    /// <summary>This module's options by option name (no "module:" prefix), case-insensitive keys.</summary>
    public IReadOnlyDictionary<string, string> Options { get; }

    public ILoggerFactory LoggerFactory { get; }
    public TimeProvider TimeProvider { get; }

    public string? GetString(string option) => Options.TryGetValue(option, out var v) ? v : null;

    public string GetString(string option, string defaultValue) => GetString(option) ?? defaultValue;

    /// <summary>Samba booleans: yes/no, true/false, on/off, 1/0 (case-insensitive).</summary>
    public bool GetBool(string option, bool defaultValue)
    {
        var v = GetString(option);
        if (v is null) return defaultValue;
        switch (v.Trim().ToLowerInvariant())
        {
            case "yes" or "true" or "on" or "1": return true;
            case "no" or "false" or "off" or "0": return false;
            default: throw Invalid(option, v, "a boolean (yes/no, true/false, on/off, 1/0)");
        }
    }

    /// <summary>
    /// A size in bytes with an optional binary suffix K, M, G, T or P (optionally followed by B), as Samba's
    /// conv_str_size. Null when the option is absent.
    /// </summary>
    public long? GetSize(string option)
    {
        var v = GetString(option);
        if (v is null) return null;
        return TryParseSize(v, out var size) ? size : throw Invalid(option, v, "a size such as 1048576, 512K, 100M or 2G");
    }

    /// <summary>A list separated by '|', ',' or ';' (entries trimmed, empty entries dropped).</summary>
    public IReadOnlyList<string> GetList(string option)
    {
        var v = GetString(option);
        if (string.IsNullOrWhiteSpace(v)) return [];
        return v.Split(ListSeparators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public VfsConfigurationException Invalid(string option, string value, string expected) =>
        new($"share '{ShareName}': option '{ModuleName}:{option}' has value '{value}', expected {expected}");

    internal static bool TryParseSize(string text, out long size)
    {
        size = 0;
        var s = text.Trim();
        if (s.Length == 0) return false;
        if (s.EndsWith('b') || s.EndsWith('B')) s = s[..^1];
        long multiplier = 1;
        if (s.Length > 0 && char.IsLetter(s[^1]))
        {
            multiplier = char.ToUpperInvariant(s[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                'P' => 1L << 50,
                _ => 0,
            };
            if (multiplier == 0) return false;
            s = s[..^1];
        }
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        try { size = checked(n * multiplier); } catch (OverflowException) { return false; }
        return true;
    }
}
