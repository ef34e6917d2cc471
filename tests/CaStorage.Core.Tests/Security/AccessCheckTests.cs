using CaStorage.Core.Security;

namespace CaStorage.Core.Tests.Security;

public sealed class AccessCheckTests
{
    private static readonly Sid Domain = Sid.Parse("S-1-5-21-1-2-3");
    private static readonly NtIdentityMap Map = new(Domain, new Dictionary<string, uint> { ["alice"] = 1001, ["bob"] = 1002 });
    private static readonly SecurityToken Alice = Map.TokenFor("alice");
    private static readonly SecurityToken Bob = Map.TokenFor("bob");

    private static Ace Allow(Sid sid, AccessMask mask, AceFlags flags = AceFlags.None) => new(AceType.AccessAllowed, flags, mask, sid);
    private static Ace Deny(Sid sid, AccessMask mask, AceFlags flags = AceFlags.None) => new(AceType.AccessDenied, flags, mask, sid);

    private static SecurityDescriptor Sd(params Ace[] aces) => new()
    {
        Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
        Owner = Alice.User,
        Group = Alice.PrimaryGroup,
        Dacl = new Acl(aces),
    };

    [Fact]
    public void NullDacl_GrantsEverything()
    {
        var sd = new SecurityDescriptor { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent, Owner = Alice.User };
        Assert.Equal(NtStatus.Success, AccessCheck.Check(sd, Bob, AccessMask.GenericWrite, out var granted));
        Assert.Equal(AccessMask.FileGenericWrite, granted);
        Assert.Equal(AccessMask.FileAllAccess, AccessCheck.MaximumAllowed(sd, Bob));
        Assert.Equal(AccessMask.FileAllAccess, AccessCheck.MaximumAllowed(new SecurityDescriptor(), Bob)); // no DACL at all
    }

    [Fact]
    public void EmptyDacl_GrantsOnlyTheOwnersImplicitRights()
    {
        var sd = Sd();
        Assert.True(AccessCheck.IsGranted(sd, Alice, AccessMask.ReadControl | AccessMask.WriteDac));
        Assert.False(AccessCheck.IsGranted(sd, Alice, AccessMask.FileReadData));
        Assert.False(AccessCheck.IsGranted(sd, Alice, AccessMask.WriteOwner));
        Assert.False(AccessCheck.IsGranted(sd, Bob, AccessMask.ReadControl));
        Assert.Equal(AccessMask.ReadControl | AccessMask.WriteDac, AccessCheck.MaximumAllowed(sd, Alice));
        Assert.Equal(AccessMask.None, AccessCheck.MaximumAllowed(sd, Bob));
        Assert.Equal(NtStatus.AccessDenied, AccessCheck.Check(sd, Alice, AccessMask.GenericRead, out _));
    }

    [Fact]
    public void DenyBeforeAllow_Denies_AllowBeforeDeny_Grants()
    {
        var denyFirst = Sd(Deny(Bob.User, AccessMask.FileWriteData), Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess));
        Assert.False(AccessCheck.IsGranted(denyFirst, Bob, AccessMask.FileWriteData));
        Assert.True(AccessCheck.IsGranted(denyFirst, Bob, AccessMask.FileReadData));
        Assert.True(AccessCheck.IsGranted(denyFirst, Alice, AccessMask.FileWriteData));
        Assert.Equal(AccessMask.FileAllAccess & ~AccessMask.FileWriteData, AccessCheck.MaximumAllowed(denyFirst, Bob));

        var allowFirst = Sd(Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess), Deny(Bob.User, AccessMask.FileWriteData));
        Assert.True(AccessCheck.IsGranted(allowFirst, Bob, AccessMask.FileWriteData));
        Assert.Equal(AccessMask.FileAllAccess, AccessCheck.MaximumAllowed(allowFirst, Bob));
    }

    [Fact]
    public void GroupsOfTheToken_Match_ForeignSidsDoNot()
    {
        var sd = Sd(Allow(WellKnownSids.AuthenticatedUsers, AccessMask.FileGenericRead), Allow(WellKnownSids.BuiltinAdministrators, AccessMask.FileAllAccess));
        Assert.True(AccessCheck.IsGranted(sd, Bob, AccessMask.GenericRead));
        Assert.False(AccessCheck.IsGranted(sd, Bob, AccessMask.FileWriteData));
        Assert.True(AccessCheck.IsGranted(sd, Map.TokenFor("x", isGuest: true, isAnonymous: false), AccessMask.None));
        Assert.False(AccessCheck.IsGranted(sd, Map.TokenFor("x", isGuest: true, isAnonymous: false), AccessMask.FileReadData));
    }

    [Fact]
    public void CreatorOwnerAce_OnTheObject_MatchesNobody()
    {
        // smb2.compound.related4: "a sec desc allowing no write by CREATOR_OWNER".
        var sd = Sd(Allow(WellKnownSids.CreatorOwner, AccessMask.FileGenericRead | (AccessMask)0x001F0000));
        Assert.Equal(NtStatus.AccessDenied, AccessCheck.Check(sd, Alice, AccessMask.FileWriteData, out _));
        Assert.True(AccessCheck.IsGranted(sd, Alice, AccessMask.ReadControl | AccessMask.WriteDac));
        Assert.False(AccessCheck.IsGranted(sd, Alice, AccessMask.WriteOwner));
    }

    [Fact]
    public void InheritOnlyAces_AreSkipped()
    {
        var sd = Sd(Allow(Bob.User, AccessMask.FileAllAccess, AceFlags.InheritOnly | AceFlags.ObjectInherit), Deny(Bob.User, AccessMask.FileAllAccess, AceFlags.InheritOnly));
        Assert.Equal(AccessMask.None, AccessCheck.MaximumAllowed(sd, Bob));
        var open = Sd(Deny(Bob.User, AccessMask.FileAllAccess, AceFlags.InheritOnly | AceFlags.ContainerInherit), Allow(Bob.User, AccessMask.FileGenericRead));
        Assert.True(AccessCheck.IsGranted(open, Bob, AccessMask.FileGenericRead));
    }

    [Fact]
    public void OwnerRightsAce_ReplacesTheImplicitRights()
    {
        var sd = Sd(Allow(WellKnownSids.OwnerRights, AccessMask.ReadControl));
        Assert.True(AccessCheck.IsGranted(sd, Alice, AccessMask.ReadControl));
        Assert.False(AccessCheck.IsGranted(sd, Alice, AccessMask.WriteDac));
        Assert.Equal(AccessMask.ReadControl, AccessCheck.MaximumAllowed(sd, Alice));
        Assert.Equal(AccessMask.None, AccessCheck.MaximumAllowed(sd, Bob));
    }

    [Fact]
    public void GenericBits_InAcesAndRequests_AreMapped()
    {
        var sd = Sd(Allow(Bob.User, AccessMask.GenericRead | AccessMask.GenericExecute));
        Assert.True(AccessCheck.IsGranted(sd, Bob, AccessMask.FileReadData | AccessMask.FileExecute | AccessMask.Synchronize));
        Assert.Equal(NtStatus.Success, AccessCheck.Check(sd, Bob, AccessMask.GenericRead, out var granted));
        Assert.Equal(AccessMask.FileGenericRead, granted);
        Assert.Equal(AccessMask.FileGenericRead | AccessMask.FileGenericExecute, AccessCheck.MaximumAllowed(sd, Bob));
    }

    [Fact]
    public void MaximumAllowed_WithSpecificBits_NeedsThemAll()
    {
        var sd = Sd(Allow(Bob.User, AccessMask.FileGenericRead));
        Assert.Equal(NtStatus.Success, AccessCheck.Check(sd, Bob, AccessMask.MaximumAllowed | AccessMask.FileReadData, out var granted));
        Assert.Equal(AccessMask.FileGenericRead, granted);
        Assert.Equal(NtStatus.AccessDenied, AccessCheck.Check(sd, Bob, AccessMask.MaximumAllowed | AccessMask.Delete, out _));
        Assert.Equal(NtStatus.PrivilegeNotHeld, AccessCheck.Check(sd, Bob, AccessMask.AccessSystemSecurity, out _));
    }

    [Fact]
    public void ObjectAces_ApplyOnlyWithoutAnObjectType_CallbackAllowsNever_CallbackDeniesAlways()
    {
        var noType = new Ace(AceType.AccessAllowedObject, AceFlags.None, AccessMask.FileReadData, Bob.User) { ObjectData = [0, 0, 0, 0] };
        var typed = new Ace(AceType.AccessAllowedObject, AceFlags.None, AccessMask.FileWriteData, Bob.User) { ObjectData = [1, 0, 0, 0, .. new byte[16]] };
        var callbackAllow = new Ace(AceType.AccessAllowedCallback, AceFlags.None, AccessMask.FileAppendData, Bob.User);
        var callbackDeny = new Ace(AceType.AccessDeniedCallback, AceFlags.None, AccessMask.FileExecute, Bob.User);
        var sd = Sd(noType, typed, callbackAllow, callbackDeny, Allow(Bob.User, AccessMask.FileExecute | AccessMask.ReadControl));
        Assert.Equal(AccessMask.FileReadData | AccessMask.ReadControl, AccessCheck.MaximumAllowed(sd, Bob));
    }
}
