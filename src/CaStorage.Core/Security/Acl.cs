using System.Buffers.Binary;

namespace CaStorage.Core.Security;

/// <summary>
/// An access control list (MS-DTYP 2.4.5): revision and ordered ACEs. ACE order matters to the access check.
/// </summary>
/// <remarks>
/// <code>
/// AclRevision(1: 2, or 4 with object ACEs) Sbz1(1) AclSize(2, LE) AceCount(2, LE) Sbz2(2) | ACEs…
/// </code>
/// </remarks>
public sealed record Acl
{
    public const byte Revision2 = 2, RevisionDs = 4;

    public Acl(IReadOnlyList<Ace> aces, byte revision = Revision2)
    {
        Aces = aces;
        Revision = revision;
    }

    public byte Revision { get; init; }
    public IReadOnlyList<Ace> Aces { get; init; }

    public int Length => 8 + Aces.Sum(a => a.Length);

    /// <summary>The ACL and each ACE fit their 16-bit size fields (inheritance can grow an ACE or an ACL).</summary>
    public bool IsWithinLimits => Length <= ushort.MaxValue && Aces.All(a => a.Length <= ushort.MaxValue);

    /// <summary>This ACL with GENERIC_* bits of the ACEs that apply to the object mapped to file rights; inherit-only ACEs keep theirs.</summary>
    public Acl MapGenericRights() =>
        this with { Aces = [.. Aces.Select(a => a.IsInheritOnly || a.Sid is null ? a : a with { Mask = a.Mask.MapGeneric() })] };

    /// <summary>Reads an ACL at the start of <paramref name="b"/>; false when malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> b, out Acl acl)
    {
        acl = null!;
        if (b.Length < 8) return false;
        var revision = b[0];
        if (revision is not (Revision2 or RevisionDs)) return false;
        int size = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]);
        if (size < 8 || size > b.Length) return false;
        var body = b[8..size];
        var aces = new List<Ace>(Math.Min(count, 1024));
        var at = 0;
        for (var i = 0; i < count; i++)
        {
            if (!Ace.TryRead(body[at..], out var ace, out var len)) return false;
            aces.Add(ace);
            at += len;
        }
        acl = new Acl(aces, revision);
        return true;
    }

    public void WriteTo(Span<byte> b)
    {
        var len = Length;
        b[0] = Revision;
        b[1] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], (ushort)Aces.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], 0);
        var at = 8;
        foreach (var ace in Aces)
        {
            ace.WriteTo(b[at..]);
            at += ace.Length;
        }
    }

    public byte[] ToBytes()
    {
        var b = new byte[Length];
        WriteTo(b);
        return b;
    }

    public bool Equals(Acl? other) => other is not null && Revision == other.Revision && Aces.SequenceEqual(other.Aces);

    public override int GetHashCode() => HashCode.Combine(Revision, Aces.Count);
}
