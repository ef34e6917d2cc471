namespace CaStorage.Smb.Protocol.Info;

/// <summary>
/// Windows name matching for QUERY_DIRECTORY (MS-FSA 2.1.4.4): '*' and '?', and the DOS forms
/// '&lt;' (DOS_STAR), '&gt;' (DOS_QM), '"' (DOS_DOT); case-insensitive.
/// </summary>
internal static class WildcardMatcher
{
    public static bool HasWildcards(string pattern) => pattern.AsSpan().IndexOfAny("*?<>\"") >= 0;

    public static bool IsMatch(string name, string pattern)
    {
        if (pattern == "*" || pattern == "*.*") return true;
        if (!HasWildcards(pattern)) return string.Equals(name, pattern, StringComparison.OrdinalIgnoreCase);
        return Match(name.AsSpan(), pattern.AsSpan());
    }

    private static bool Match(ReadOnlySpan<char> n, ReadOnlySpan<char> p)
    {
        // Bounded backtracking: recursion depth is the number of stars; names are at most 255 chars.
        while (p.Length > 0)
        {
            var pc = p[0];
            switch (pc)
            {
                case '*':
                    p = p[1..];
                    if (p.Length == 0) return true;
                    for (var i = 0; i <= n.Length; i++) if (Match(n[i..], p)) return true;
                    return false;
                case '<':
                    {
                        // DOS_STAR: matches up to the last '.' in the name.
                        p = p[1..];
                        for (var i = 0; i <= n.Length; i++)
                        {
                            if (Match(n[i..], p)) return true;
                            if (i < n.Length && n[i] == '.' && n[(i + 1)..].IndexOf('.') < 0) { if (Match(n[i..], p)) return true; break; }
                        }
                        return false;
                    }
                case '?':
                    if (n.Length == 0) return false;
                    n = n[1..];
                    p = p[1..];
                    break;
                case '>':
                    // DOS_QM: any single character, or nothing at a '.' or the end.
                    p = p[1..];
                    if (n.Length > 0 && n[0] != '.') n = n[1..];
                    break;
                case '"':
                    // DOS_DOT: a '.' or the end of the name.
                    p = p[1..];
                    if (n.Length > 0) { if (n[0] != '.') return false; n = n[1..]; }
                    break;
                default:
                    if (n.Length == 0 || char.ToUpperInvariant(n[0]) != char.ToUpperInvariant(pc)) return false;
                    n = n[1..];
                    p = p[1..];
                    break;
            }
        }
        return n.Length == 0;
    }
}
