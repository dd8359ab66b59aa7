using Carter;
using FluentValidation;
using MediatR;
using Microsoft.EntityFrameworkCore;
using NetArchTest.Rules;

namespace JobTrail.ArchitectureTests.Rules;

/// <summary>
/// The shape of a slice as NetArchTest rules: its handler, validator and endpoint are internal and sealed,
/// the endpoint only binds and sends, and no module reaches another's DbContext.
/// </summary>
internal static class SliceRules
{
    /// <summary>
    /// What an endpoint may not use: it binds the request and sends it through the mediator, so the data
    /// stores, the handlers and the module's persistence are the pipeline's and the handler's business.
    /// </summary>
    private static readonly string[] WorkAnEndpointDoesNotDo =
    [
        "Microsoft.EntityFrameworkCore",
        "Npgsql",
        "StackExchange.Redis",
        "JobTrail.BuildingBlocks.Persistence",
        "JobTrail.BuildingBlocks.Valkey",
    ];

    /// <summary>
    /// Request and notification handlers. NetArchTest sees the interfaces a type declares, not those of its
    /// base class, so MediatR's handler base classes are named too.
    /// </summary>
    public static PredicateList Handlers(Types types) =>
        types.That().ImplementInterface(typeof(IRequestHandler<,>))
            .Or().ImplementInterface(typeof(INotificationHandler<>))
            .Or().Inherit(typeof(AsyncRequestHandler<>))
            .Or().Inherit(typeof(RequestHandler<,>))
            .Or().Inherit(typeof(RequestHandler<>));

    public static PredicateList Validators(Types types) => types.That().Inherit(typeof(AbstractValidator<>));

    public static PredicateList Endpoints(Types types) => types.That().ImplementInterface(typeof(ICarterModule));

    public static PredicateList DbContexts(Types types) => types.That().Inherit(typeof(DbContext));

    /// <summary>A module's DbContexts are its internals: nothing outside it may query them.</summary>
    public static TestResult NotPublic(PredicateList selected) => selected.Should().NotBePublic().GetResult();

    /// <summary>Handlers, validators and endpoints are found by scanning, never called or extended: internal and sealed.</summary>
    public static TestResult InternalAndSealed(PredicateList selected) =>
        selected.And().AreNotAbstract().Should().NotBePublic().And().BeSealed().GetResult();

    /// <summary>An endpoint uses no data store, no persistence type of its module and no handler: it binds and sends.</summary>
    public static TestResult EndpointsOnlyBindAndSend(Types types) =>
        Endpoints(types).Should().NotHaveDependencyOnAny([.. WorkAnEndpointDoesNotDo, .. WorkTypesOf(types)]).GetResult();

    /// <summary>A module names no DbContext but its own (another's data is reached through its Contracts).</summary>
    public static TestResult UsesNoOtherModulesDbContext(Types types, string ownImplementationName) =>
        UsesNoneOf(types, DbContextTypeNamesExcept(ownImplementationName));

    public static TestResult UsesNoneOf(Types types, IEnumerable<string> foreignDbContexts) =>
        types.Should().NotHaveDependencyOnAny([.. foreignDbContexts]).GetResult();

    public static Types InAssembly(string assemblyName) => Types.InAssembly(ModuleBoundaryRules.Load(assemblyName));

    /// <summary>The fixture types declared in <typeparamref name="TAnchor"/>'s namespace and below.</summary>
    public static Types InNamespaceOf<TAnchor>() => Types.InNamespace(typeof(TAnchor).Namespace!);

    /// <summary>The handlers and DbContexts of the assembly the endpoints are in: an endpoint calls neither.</summary>
    private static IEnumerable<string> WorkTypesOf(Types types) =>
        Handlers(types).GetTypes()
            .Concat(types.That().Inherit(typeof(DbContext)).GetTypes())
            .Select(t => t.FullName!)
            .Distinct()
            .Order(StringComparer.Ordinal);

    private static IEnumerable<string> DbContextTypeNamesExcept(string ownImplementationName) =>
        Analysis.BuiltAssemblies.ModuleImplementations
            .Where(a => a.Name.Name != ownImplementationName)
            .SelectMany(a => Types.InAssembly(ModuleBoundaryRules.Load(a.Name.Name)).That().Inherit(typeof(DbContext)).GetTypes())
            .Select(t => t.FullName!)
            .Order(StringComparer.Ordinal);
}
