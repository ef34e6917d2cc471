namespace CaStorage.Vfs.Modules;

/// <summary>Unix-style wildcard match with '*' and '?', case-insensitive (as Samba's unix_wild_match).</summary>
public static class Wildcard
{
    public static bool IsMatch(string pattern, string name)
    {
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(name[n])))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    public static bool MatchesAny(IReadOnlyList<string> patterns, string name)
    {
        foreach (var pattern in patterns)
        {
            if (IsMatch(pattern, name)) return true;
        }
        return false;
    }
}
