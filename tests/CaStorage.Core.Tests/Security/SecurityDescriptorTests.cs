using System.Buffers.Binary;
using CaStorage.Core.Security;

namespace CaStorage.Core.Tests.Security;

public sealed class SecurityDescriptorTests
{
    /// <summary>
    /// MS-DTYP 2.5.1.4: "O:BAG:BAD:P(A;CIOI;GRGX;;;BU)(A;CIOI;GA;;;BA)(A;CIOI;GA;;;SY)(A;CIOI;GA;;;CO)S:P(AU;FA;GR;;;WD)"
    /// in self-relative form.
    /// </summary>
    internal const string MsDtypExample = """
        01 00 14 b0 90 00 00 00 a0 00 00 00 14 00 00 00
        30 00 00 00 02 00 1c 00 01 00 00 00 02 80 14 00
        00 00 00 80 01 01 00 00 00 00 00 01 00 00 00 00
        02 00 60 00 04 00 00 00 00 03 18 00 00 00 00 a0
        01 02 00 00 00 00 00 05 20 00 00 00 21 02 00 00
        00 03 18 00 00 00 00 10 01 02 00 00 00 00 00 05
        20 00 00 00 20 02 00 00 00 03 14 00 00 00 00 10
        01 01 00 00 00 00 00 05 12 00 00 00 00 03 14 00
        00 00 00 10 01 01 00 00 00 00 00 03 00 00 00 00
        01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
        01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00
        """;

    internal static byte[] Example => Convert.FromHexString(string.Concat(MsDtypExample.Where(char.IsAsciiHexDigit)));

    [Fact]
    public void MsDtypExample_ParsesToItsParts()
    {
        Assert.Equal(0xB0, Example.Length);
        Assert.True(SecurityDescriptor.TryParse(Example, out var sd));
        Assert.Equal(SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.SaclPresent
            | SecurityDescriptorControl.DaclProtected | SecurityDescriptorControl.SaclProtected, sd.Control);
        Assert.Equal(WellKnownSids.BuiltinAdministrators, sd.Owner);
        Assert.Equal(WellKnownSids.BuiltinAdministrators, sd.Group);
        const AceFlags cioi = AceFlags.ContainerInherit | AceFlags.ObjectInherit;
        Assert.Equal(new Acl(
        [
            new Ace(AceType.AccessAllowed, cioi, AccessMask.GenericRead | AccessMask.GenericExecute, WellKnownSids.BuiltinUsers),
            new Ace(AceType.AccessAllowed, cioi, AccessMask.GenericAll, WellKnownSids.BuiltinAdministrators),
            new Ace(AceType.AccessAllowed, cioi, AccessMask.GenericAll, WellKnownSids.LocalSystem),
            new Ace(AceType.AccessAllowed, cioi, AccessMask.GenericAll, WellKnownSids.CreatorOwner),
        ]), sd.Dacl);
        Assert.Equal(new Acl([new Ace(AceType.SystemAudit, AceFlags.FailedAccess, AccessMask.GenericRead, WellKnownSids.Everyone)]), sd.Sacl);
    }

    [Fact]
    public void MsDtypExample_SerializesByteForByte()
    {
        Assert.True(SecurityDescriptor.TryParse(Example, out var sd));
        Assert.Equal(Example, sd.ToSelfRelative(SecurityInformation.OwnerGroupDaclSacl));
    }

    [Fact]
    public void Serialize_KeepsOnlyTheRequestedParts()
    {
        Assert.True(SecurityDescriptor.TryParse(Example, out var sd));
        Assert.True(SecurityDescriptor.TryParse(sd.ToSelfRelative(SecurityInformation.Owner), out var owner));
        Assert.Equal(WellKnownSids.BuiltinAdministrators, owner.Owner);
        Assert.Null(owner.Group);
        Assert.False(owner.DaclPresent);
        Assert.False(owner.SaclPresent);
        Assert.Equal(SecurityDescriptorControl.SelfRelative, owner.Control);

        Assert.True(SecurityDescriptor.TryParse(sd.ToSelfRelative(SecurityInformation.Dacl), out var dacl));
        Assert.Null(dacl.Owner);
        Assert.Equal(sd.Dacl, dacl.Dacl);
        Assert.Equal(SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclProtected, dacl.Control);
        Assert.Equal(20, sd.ToSelfRelative(SecurityInformation.None).Length);
    }

    [Fact]
    public void NullAndEmptyDacl_AreDistinct()
    {
        var nullDacl = new SecurityDescriptor { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent };
        var empty = nullDacl with { Dacl = new Acl([]) };
        Assert.True(SecurityDescriptor.TryParse(nullDacl.ToSelfRelative(), out var n));
        Assert.True(n.DaclPresent);
        Assert.True(n.IsNullDacl);
        Assert.True(SecurityDescriptor.TryParse(empty.ToSelfRelative(), out var e));
        Assert.False(e.IsNullDacl);
        Assert.Empty(e.Dacl!.Aces);
        Assert.True(new SecurityDescriptor().IsNullDacl);
    }

    [Fact]
    public void Truncation_AtEveryByte_IsRefused()
    {
        for (var i = 0; i < Example.Length; i++) Assert.False(SecurityDescriptor.TryParse(Example.AsSpan(0, i), out _), $"length {i}");
    }

    [Fact]
    public void RandomMutations_NeverThrow()
    {
        var random = new Random(1234);
        for (var round = 0; round < 5000; round++)
        {
            var b = Example;
            for (var k = 0; k < 1 + random.Next(4); k++) b[random.Next(b.Length)] = (byte)random.Next(256);
            if (SecurityDescriptor.TryParse(b, out var sd)) _ = sd.ToSelfRelative();
        }
    }

    [Theory]
    [InlineData(0, 2)]      // revision
    [InlineData(3, 0x30)]   // control without SE_SELF_RELATIVE
    [InlineData(4, 0xF0)]   // owner offset past the end
    [InlineData(16, 0x02)]  // DACL offset inside the header
    [InlineData(0x30, 3)]   // ACL revision
    [InlineData(0x3A, 0x13)] // first DACL ACE size not a multiple of 4
    public void Malformed_IsRefused(int offset, byte value)
    {
        var b = Example;
        b[offset] = value;
        Assert.False(SecurityDescriptor.TryParse(b, out _));
    }

    [Fact]
    public void UnknownAndObjectAces_RoundTrip()
    {
        var objectAce = Convert.FromHexString(
            "05032800" + "FF010F00" + "01000000" + "00112233445566778899AABBCCDDEEFF" + "010100000000000100000000");
        var opaqueAce = Convert.FromHexString("1F000C00" + "DEADBEEF" + "01020304");
        var callbackAce = Convert.FromHexString("09001800" + "89001200" + "010100000000000100000000" + "61727478");
        var aclBody = objectAce.Concat(opaqueAce).Concat(callbackAce).ToArray();
        var acl = new byte[8 + aclBody.Length];
        acl[0] = 4;
        BinaryPrimitives.WriteUInt16LittleEndian(acl.AsSpan(2), (ushort)acl.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(acl.AsSpan(4), 3);
        aclBody.CopyTo(acl, 8);
        Assert.True(Acl.TryRead(acl, out var parsed));
        Assert.Equal(3, parsed.Aces.Count);
        Assert.True(parsed.Aces[0].HasObjectType);
        Assert.Equal(WellKnownSids.Everyone, parsed.Aces[0].Sid);
        Assert.Null(parsed.Aces[1].Sid);
        Assert.Equal(4, parsed.Aces[2].Trailer.Length);
        Assert.Equal(acl, parsed.ToBytes());
    }

    [Fact]
    public void Merge_ReplacesNamedParts_AndMakesAMissingDaclNull()
    {
        Assert.True(SecurityDescriptor.TryParse(Example, out var current));
        var users = new Acl([new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileGenericRead, WellKnownSids.BuiltinUsers)]);
        var update = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclAutoInheritRequired,
            Owner = WellKnownSids.Everyone,
            Dacl = users,
        };
        var merged = current.Merge(update, SecurityInformation.Dacl);
        Assert.Equal(users, merged.Dacl);
        Assert.Equal(WellKnownSids.BuiltinAdministrators, merged.Owner);   // not named: kept
        Assert.False(merged.Control.HasFlag(SecurityDescriptorControl.DaclProtected));
        Assert.False(merged.Control.HasFlag(SecurityDescriptorControl.DaclAutoInheritRequired));
        Assert.Equal(current.Sacl, merged.Sacl);

        merged = merged.Merge(update with { Control = SecurityDescriptorControl.SelfRelative, Dacl = null }, SecurityInformation.Dacl | SecurityInformation.Owner | SecurityInformation.Group);
        Assert.True(merged.DaclPresent);
        Assert.True(merged.IsNullDacl);
        Assert.Equal(WellKnownSids.Everyone, merged.Owner);
        Assert.Equal(WellKnownSids.BuiltinAdministrators, merged.Group); // named but absent: kept
    }

    [Fact]
    public void MapGenericRights_MapsEffectiveAcesOnly()
    {
        Assert.True(SecurityDescriptor.TryParse(Example, out var sd));
        var io = new Ace(AceType.AccessAllowed, AceFlags.ObjectInherit | AceFlags.InheritOnly, AccessMask.GenericAll, WellKnownSids.CreatorOwner);
        var mapped = (sd with { Dacl = sd.Dacl! with { Aces = [.. sd.Dacl.Aces, io] } }).MapGenericRights();
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.FileGenericExecute, mapped.Dacl!.Aces[0].Mask);
        Assert.Equal(AccessMask.FileAllAccess, mapped.Dacl.Aces[1].Mask);
        Assert.Equal(AccessMask.GenericAll, mapped.Dacl.Aces[4].Mask);
        Assert.Equal(AccessMask.FileGenericRead, mapped.Sacl!.Aces[0].Mask);
    }

    [Theory]
    [InlineData(SecurityDescriptorControl.None, SecurityDescriptorControl.None)]
    [InlineData(SecurityDescriptorControl.DaclAutoInherited, SecurityDescriptorControl.None)]
    [InlineData(SecurityDescriptorControl.DaclAutoInheritRequired, SecurityDescriptorControl.None)]
    [InlineData(SecurityDescriptorControl.DaclAutoInherited | SecurityDescriptorControl.DaclAutoInheritRequired, SecurityDescriptorControl.DaclAutoInherited)]
    [InlineData(SecurityDescriptorControl.DaclProtected | SecurityDescriptorControl.DaclAutoInherited, SecurityDescriptorControl.DaclProtected)]
    public void SetDacl_KeepsAutoInheritedOnlyWithTheRequest(SecurityDescriptorControl sent, SecurityDescriptorControl stored)
    {
        var current = new SecurityDescriptor { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclProtected };
        var update = new SecurityDescriptor { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | sent, Dacl = new Acl([]) };
        var merged = current.Merge(update, SecurityInformation.Dacl);
        Assert.Equal(SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | stored, merged.Control);
    }
}
