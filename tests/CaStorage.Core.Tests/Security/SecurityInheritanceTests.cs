using CaStorage.Core.Security;

namespace CaStorage.Core.Tests.Security;

public sealed class SecurityInheritanceTests
{
    private static readonly NtIdentityMap Map = new(Sid.Parse("S-1-5-21-1-2-3"), new Dictionary<string, uint> { ["alice"] = 1001 });
    private static readonly SecurityToken Alice = Map.TokenFor("alice");
    private static readonly Sid Users = WellKnownSids.BuiltinUsers;

    private const AceFlags OI = AceFlags.ObjectInherit, CI = AceFlags.ContainerInherit, NP = AceFlags.NoPropagateInherit,
        IO = AceFlags.InheritOnly, ID = AceFlags.Inherited;

    private static Ace Allow(Sid sid, AccessMask mask, AceFlags flags = AceFlags.None) => new(AceType.AccessAllowed, flags, mask, sid);

    /// <summary>An auto-inherited parent: inherited ACEs are marked INHERITED_ACE.</summary>
    private static SecurityDescriptor Parent(params Ace[] aces) => new()
    {
        Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclAutoInherited,
        Owner = WellKnownSids.BuiltinAdministrators,
        Group = WellKnownSids.BuiltinAdministrators,
        Dacl = new Acl(aces),
    };

    [Fact]
    public void File_TakesObjectInheritAces_WithoutInheritanceFlags()
    {
        var parent = Parent(
            Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, OI | CI),
            Allow(Users, AccessMask.FileGenericRead, CI),           // directories only
            Allow(WellKnownSids.LocalSystem, AccessMask.GenericAll, OI | IO));
        var child = SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice);
        Assert.Equal(Alice.User, child.Owner);
        Assert.Equal(Alice.PrimaryGroup, child.Group);
        Assert.True(child.DaclPresent);
        Assert.Equal(new Acl(
        [
            Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, ID),
            Allow(WellKnownSids.LocalSystem, AccessMask.FileAllAccess, ID),
        ]), child.Dacl);
    }

    [Fact]
    public void Directory_KeepsContainerInheritance_AndPassesObjectOnlyAcesAsInheritOnly()
    {
        var parent = Parent(
            Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, OI | CI | IO),
            Allow(Users, AccessMask.FileGenericRead, CI | NP),
            Allow(WellKnownSids.LocalSystem, AccessMask.FileAllAccess, OI),
            Allow(WellKnownSids.AuthenticatedUsers, AccessMask.FileAllAccess, OI | NP),
            Allow(Alice.User, AccessMask.FileAllAccess));
        var child = SecurityInheritance.CreateChild(parent, null, isContainer: true, Alice);
        Assert.Equal(new Acl(
        [
            Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, OI | CI | ID),
            Allow(Users, AccessMask.FileGenericRead, ID),
            Allow(WellKnownSids.LocalSystem, AccessMask.FileAllAccess, OI | IO | ID),
        ]), child.Dacl);
    }

    [Fact]
    public void CreatorOwner_IsReplaced_AndKeptInheritableOnDirectories()
    {
        var parent = Parent(Allow(WellKnownSids.CreatorOwner, AccessMask.GenericAll, OI | CI | IO), Allow(WellKnownSids.CreatorGroup, AccessMask.FileGenericRead, OI));
        var file = SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice);
        Assert.Equal(new Acl(
        [
            Allow(Alice.User, AccessMask.FileAllAccess, ID),
            Allow(Alice.PrimaryGroup, AccessMask.FileGenericRead, ID),
        ]), file.Dacl);

        var dir = SecurityInheritance.CreateChild(parent, null, isContainer: true, Alice);
        Assert.Equal(new Acl(
        [
            Allow(Alice.User, AccessMask.FileAllAccess, ID),
            Allow(WellKnownSids.CreatorOwner, AccessMask.GenericAll, OI | CI | IO | ID),
            Allow(WellKnownSids.CreatorGroup, AccessMask.FileGenericRead, OI | IO | ID),
        ]), dir.Dacl);
    }

    [Fact]
    public void NothingInheritable_GivesTheTokensDefaultDacl()
    {
        var parent = Parent(Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess));
        var child = SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice);
        Assert.Equal(SecurityInheritance.DefaultDacl(Alice.User), child.Dacl);
        var fromNullDacl = SecurityInheritance.CreateChild(parent with { Dacl = null }, null, isContainer: true, Alice);
        Assert.Equal(SecurityInheritance.DefaultDacl(Alice.User), fromNullDacl.Dacl);
        Assert.Equal(SecurityInheritance.DefaultDacl(Alice.User), SecurityInheritance.CreateChild(null, null, false, Alice).Dacl);
    }

    [Fact]
    public void CreatorDescriptor_SuppliesOwnerGroupAndDacl_AsGiven()
    {
        var parent = Parent(Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, OI | CI));
        var explicitDacl = new Acl(
        [
            Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, ID),
            Allow(WellKnownSids.AuthenticatedUsers, AccessMask.GenericRead),
        ]);
        var creator = new SecurityDescriptor
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.DaclProtected,
            Owner = WellKnownSids.Everyone,
            Group = Users,
            Dacl = explicitDacl,
        };
        var child = SecurityInheritance.CreateChild(parent, creator, isContainer: false, Alice);
        Assert.Equal(WellKnownSids.Everyone, child.Owner);
        Assert.Equal(Users, child.Group);
        Assert.Equal(explicitDacl.MapGenericRights(), child.Dacl);
        Assert.True(child.Control.HasFlag(SecurityDescriptorControl.DaclProtected));

        // smb2.create.nulldacl: an empty creator descriptor (no owner, group or DACL) changes nothing.
        var empty = SecurityInheritance.CreateChild(parent, new SecurityDescriptor(), isContainer: false, Alice);
        Assert.Equal(Alice.User, empty.Owner);
        Assert.Equal(new Acl([Allow(WellKnownSids.Everyone, AccessMask.FileAllAccess, ID)]), empty.Dacl);

        // A creator's NULL DACL stays NULL.
        var nullDacl = SecurityInheritance.CreateChild(parent, new SecurityDescriptor { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent }, false, Alice);
        Assert.True(nullDacl.DaclPresent);
        Assert.True(nullDacl.IsNullDacl);
    }

    [Fact]
    public void Sacl_InheritsAuditAces_KeepingAuditFlags()
    {
        var parent = Parent() with
        {
            Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent | SecurityDescriptorControl.SaclPresent
                | SecurityDescriptorControl.SaclAutoInherited,
            Sacl = new Acl([new Ace(AceType.SystemAudit, OI | AceFlags.FailedAccess, AccessMask.GenericWrite, WellKnownSids.Everyone)]),
        };
        var child = SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice);
        Assert.True(child.SaclPresent);
        Assert.Equal(new Acl([new Ace(AceType.SystemAudit, ID | AceFlags.FailedAccess, AccessMask.FileGenericWrite, WellKnownSids.Everyone)]), child.Sacl);
        Assert.False(SecurityInheritance.CreateChild(Parent(), null, false, Alice).SaclPresent);
    }

    [Fact]
    public void InheritedDescriptor_RoundTripsThroughTheCodec()
    {
        var parent = Parent(Allow(WellKnownSids.CreatorOwner, AccessMask.GenericAll, OI | CI | IO), Allow(Users, AccessMask.FileGenericRead, OI | CI));
        var child = SecurityInheritance.CreateChild(parent, null, isContainer: true, Alice);
        Assert.True(SecurityDescriptor.TryParse(child.ToSelfRelative(), out var back));
        Assert.Equal(child, back);
    }

    [Fact]
    public void Inheritance_CanOutgrowTheSixteenBitAclSize_WhichIsReported()
    {
        var parent = Parent([.. Enumerable.Repeat(Allow(WellKnownSids.CreatorOwner, AccessMask.GenericAll, OI | CI | IO), 2000)]);
        Assert.True(parent.IsWithinLimits);
        Assert.False(SecurityInheritance.CreateChild(parent, null, isContainer: true, Alice).IsWithinLimits);
        Assert.False(SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice).IsWithinLimits);
    }

    [Fact]
    public void WithoutAutoInheritance_InheritedAcesAreNotMarked_AsSmb2AclsInheritanceExpects()
    {
        var parent = Parent(Allow(WellKnownSids.CreatorOwner, AccessMask.FileWriteData, CI), Allow(Users, AccessMask.FileGenericRead, OI))
            with { Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent };
        var dir = SecurityInheritance.CreateChild(parent, null, isContainer: true, Alice);
        Assert.Equal(SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent, dir.Control);
        Assert.Equal(new Acl(
        [
            Allow(Alice.User, AccessMask.FileWriteData),
            Allow(WellKnownSids.CreatorOwner, AccessMask.FileWriteData, CI | IO),
            Allow(Users, AccessMask.FileGenericRead, OI | IO),
        ]), dir.Dacl);
        var file = SecurityInheritance.CreateChild(parent, null, isContainer: false, Alice);
        Assert.Equal(new Acl([Allow(Users, AccessMask.FileGenericRead)]), file.Dacl);

        var auto = SecurityInheritance.CreateChild(parent with { Control = parent.Control | SecurityDescriptorControl.DaclAutoInherited }, null, false, Alice);
        Assert.True(auto.Control.HasFlag(SecurityDescriptorControl.DaclAutoInherited));
        Assert.Equal(new Acl([Allow(Users, AccessMask.FileGenericRead, ID)]), auto.Dacl);
    }
}
