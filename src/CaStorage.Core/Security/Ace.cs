using System.Buffers.Binary;

namespace CaStorage.Core.Security;

/// <summary>
/// One access control entry (MS-DTYP 2.4.4). The common shapes are parsed (mask and SID, with the object-type block
/// of object ACEs kept verbatim); trailing application data (callback conditions, padding) is kept verbatim, and ACE
/// types this server does not know are kept as an opaque body, so a descriptor round-trips byte for byte.
/// </summary>
/// <remarks>
/// <code>
/// ACE_HEADER  AceType(1) AceFlags(1) AceSize(2, LE, multiple of 4)
/// basic       Mask(4) Sid [ApplicationData]
/// object      Mask(4) Flags(4) [ObjectType(16) if Flags&amp;1] [InheritedObjectType(16) if Flags&amp;2] Sid [ApplicationData]
/// </code>
/// </remarks>
public sealed record Ace
{
    private const uint ObjectTypePresent = 0x1, InheritedObjectTypePresent = 0x2;

    public Ace(AceType type, AceFlags flags, AccessMask mask, Sid sid)
    {
        Type = type;
        Flags = flags;
        Mask = mask;
        Sid = sid;
    }

    private Ace(AceType type, AceFlags flags) { Type = type; Flags = flags; }

    public AceType Type { get; init; }
    public AceFlags Flags { get; init; }
    public AccessMask Mask { get; init; }

    /// <summary>The trustee; null only for an ACE type kept as an opaque body.</summary>
    public Sid? Sid { get; init; }

    /// <summary>Object ACEs: Flags, ObjectType and InheritedObjectType as sent (empty for other types).</summary>
    public byte[] ObjectData { get; init; } = [];

    /// <summary>Bytes after the SID (application data, padding); for an opaque type, the whole body after the header.</summary>
    public byte[] Trailer { get; init; } = [];

    public bool IsInheritOnly => (Flags & AceFlags.InheritOnly) != 0;
    public bool IsInherited => (Flags & AceFlags.Inherited) != 0;

    /// <summary>An object ACE that names an object type: it never applies to a whole file.</summary>
    public bool HasObjectType => ObjectData.Length >= 4 && (BinaryPrimitives.ReadUInt32LittleEndian(ObjectData) & ObjectTypePresent) != 0;

    public int Length => 4 + (Sid is null ? Trailer.Length : 4 + ObjectData.Length + Sid.BinaryLength + Trailer.Length);

    public static bool IsObjectType(AceType t) => t is AceType.AccessAllowedObject or AceType.AccessDeniedObject
        or AceType.SystemAuditObject or AceType.SystemAlarmObject or AceType.AccessAllowedCallbackObject
        or AceType.AccessDeniedCallbackObject or AceType.SystemAuditCallbackObject or AceType.SystemAlarmCallbackObject;

    private static bool HasMaskAndSid(AceType t) => t <= AceType.SystemScopedPolicyId && t != AceType.AccessAllowedCompound;

    /// <summary>Reads one ACE at the start of <paramref name="b"/>; false when malformed (MS-DTYP 2.4.4).</summary>
    public static bool TryRead(ReadOnlySpan<byte> b, out Ace ace, out int length)
    {
        ace = null!;
        length = 0;
        if (b.Length < 4) return false;
        var type = (AceType)b[0];
        var flags = (AceFlags)b[1];
        int size = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]);
        if (size < 4 || (size & 3) != 0 || size > b.Length) return false;
        var body = b[4..size];
        if (!HasMaskAndSid(type))
        {
            ace = new Ace(type, flags) { Trailer = body.ToArray() };
            length = size;
            return true;
        }
        if (body.Length < 4) return false;
        var mask = (AccessMask)BinaryPrimitives.ReadUInt32LittleEndian(body);
        var at = 4;
        byte[] objectData = [];
        if (IsObjectType(type))
        {
            if (body.Length < at + 4) return false;
            var objFlags = BinaryPrimitives.ReadUInt32LittleEndian(body[at..]);
            var objLen = 4 + ((objFlags & ObjectTypePresent) != 0 ? 16 : 0) + ((objFlags & InheritedObjectTypePresent) != 0 ? 16 : 0);
            if (body.Length < at + objLen) return false;
            objectData = body.Slice(at, objLen).ToArray();
            at += objLen;
        }
        if (!Sid.TryRead(body[at..], out var sid, out var sidLen)) return false;
        at += sidLen;
        ace = new Ace(type, flags, mask, sid) { ObjectData = objectData, Trailer = body[at..].ToArray() };
        length = size;
        return true;
    }

    public void WriteTo(Span<byte> b)
    {
        var len = Length;
        b[0] = (byte)Type;
        b[1] = (byte)Flags;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)len);
        var at = 4;
        if (Sid is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b[at..], (uint)Mask);
            at += 4;
            ObjectData.CopyTo(b[at..]);
            at += ObjectData.Length;
            Sid.WriteTo(b[at..]);
            at += Sid.BinaryLength;
        }
        Trailer.CopyTo(b[at..]);
    }

    public bool Equals(Ace? other) =>
        other is not null && Type == other.Type && Flags == other.Flags && Mask == other.Mask && Sid == other.Sid
        && ObjectData.AsSpan().SequenceEqual(other.ObjectData) && Trailer.AsSpan().SequenceEqual(other.Trailer);

    public override int GetHashCode() => HashCode.Combine(Type, Flags, Mask, Sid);

    public override string ToString() => $"{Type} {Flags} 0x{(uint)Mask:X8} {Sid}";
}
