using System.Text.Json;
using FluentValidation;
using FluentValidation.Results;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobEvents.Features.EmitEvent;
using JobTrail.Modules.JobEvents.Features.EmitEventBatch;

namespace JobTrail.Modules.JobEvents.Tests;

/// <summary>
/// The event rules are plain code (a batch checks up to 1000 events); clients read their failures as field errors
/// (<c>events[3].type</c>), so the failures must be exactly those of the FluentValidation rules they replaced,
/// written out again here as they were: same names, messages, JSON paths and order.
/// </summary>
public sealed class EventRulesTests
{
    private static readonly JsonElement Ok = Json("""{"line":"ok"}""");

    // As the host sets it (MediatorRegistration): the service's validators rely on it.
    static EventRulesTests() => ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;

    public static TheoryData<string> Cases() => new(Drafts.Keys);

    private static readonly Dictionary<string, EventDraft?> Drafts = new()
    {
        ["valid"] = new EventDraft("step.output", Guid.NewGuid(), Ok, DateTimeOffset.UtcNow),
        ["valid, nothing optional"] = new EventDraft("job.started", null, null, null),
        ["missing event"] = null,
        ["type absent"] = new EventDraft(null, null, Ok, null),
        ["type empty"] = new EventDraft(string.Empty, null, Ok, null),
        ["type blank"] = new EventDraft(" \t ", null, Ok, null),
        ["type unknown"] = new EventDraft("step.nope", null, Ok, null),
        ["type in capitals"] = new EventDraft("STEP.OUTPUT", null, Ok, null),
        ["step id empty"] = new EventDraft("step.output", Guid.Empty, Ok, null),
        ["payload array"] = new EventDraft("step.output", null, Json("[1,2]"), null),
        ["payload string"] = new EventDraft("step.output", null, Json("\"x\""), null),
        ["payload number"] = new EventDraft("step.output", null, Json("1"), null),
        ["payload JSON null"] = new EventDraft("step.output", null, Json("null"), null),
        ["payload undefined"] = new EventDraft("step.output", null, default(JsonElement), null),
        ["payload with numbers jsonb refuses"] = new EventDraft("step.output", null, Json("""{"a":[1e999,"x",{"b":-1e400}],"c":1e-99999999999}"""), null),
        ["payload with eleven faults"] = new EventDraft(
            "step.output", null, Json("{" + string.Join(',', Enumerable.Range(0, 11).Select(i => $"\"k{i}\":1e999")) + "}"), null),
        ["payload too large"] = new EventDraft("step.output", null, Json(JsonSerializer.Serialize(new { s = new string('x', 70_000) })), null),
        ["everything wrong"] = new EventDraft("  ", Guid.Empty, Json("[]"), null),
        ["unknown type and a payload fault"] = new EventDraft("no.such", Guid.Empty, Json("""{"n":1e999}"""), null),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_single_emit_fails_as_its_field_rules_did(string name)
    {
        if (Drafts[name] is not { } draft)
        {
            return; // a single emit has no missing event: its body is the event
        }

        var command = new EmitEventCommand(Guid.NewGuid(), draft.Type, draft.StepId, draft.Payload, draft.OccurredAt, "key-1");

        var expected = await new FormerEmitEventValidator().ValidateAsync(command);
        var actual = await new EmitEventValidator().ValidateAsync(command);

        AssertSameFailures(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_batch_fails_at_its_first_bad_event_as_its_rules_did(string name)
    {
        // Behind a good event, twice: the rule over the list stopped at the first element that failed.
        var command = new EmitEventBatchCommand(Guid.NewGuid(), [Drafts["valid"], Drafts[name], Drafts["valid, nothing optional"], Drafts[name]], "key-1");

        var expected = await new FormerBatchValidator().ValidateAsync(command);
        var actual = await new EmitEventBatchValidator().ValidateAsync(command);

        AssertSameFailures(expected, actual);
        if (!name.StartsWith("valid", StringComparison.Ordinal) && name != "payload JSON null" && name != "payload undefined")
        {
            // The case does fail, so that the comparison compares something, and only at its first place.
            Assert.NotEmpty(actual.Errors);
            Assert.All(actual.Errors, e => Assert.StartsWith("Events[1]", e.PropertyName, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Batch_level_failures_and_an_absent_list_are_unchanged()
    {
        foreach (var command in new[]
        {
            new EmitEventBatchCommand(Guid.Empty, null, "bad key"),
            new EmitEventBatchCommand(Guid.NewGuid(), [], null),
            new EmitEventBatchCommand(Guid.NewGuid(), [.. Enumerable.Repeat(Drafts["type unknown"], 1001)], null),
        })
        {
            AssertSameFailures(await new FormerBatchValidator().ValidateAsync(command), await new EmitEventBatchValidator().ValidateAsync(command));
        }
    }

    [Fact]
    public async Task A_type_that_looks_like_a_message_placeholder_is_quoted_as_sent()
    {
        // The former rules ran their messages through FluentValidation's formatter, which filled {PropertyName} and
        // the like from a client's own text; the message now quotes exactly what was sent.
        var command = new EmitEventBatchCommand(Guid.NewGuid(), [new EventDraft("{PropertyName}{CollectionIndex}", null, null, null)], null);

        var failure = Assert.Single((await new EmitEventBatchValidator().ValidateAsync(command)).Errors);

        Assert.Equal("Events[0].Type", failure.PropertyName);
        Assert.StartsWith("'{PropertyName}{CollectionIndex}' is not an event type;", failure.ErrorMessage, StringComparison.Ordinal);
    }

    private static void AssertSameFailures(ValidationResult expected, ValidationResult actual) =>
        Assert.Equal(
            expected.Errors.Select(e => (e.PropertyName, e.ErrorMessage, e.CustomState)).ToList(),
            actual.Errors.Select(e => (e.PropertyName, e.ErrorMessage, e.CustomState)).ToList());

    private static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    // The rules as FluentValidation rules, as they were before they became code (rule-level cascade Stop, as the
    // host sets it globally).
    private static IRuleBuilderOptions<T, string?> FormerType<T>(IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("'type' is required.")
            .Must(Contracts.JobEventTypes.IsKnown).WithMessage((_, type) => $"'{type}' is not an event type; the types are {EventLimits.KnownTypes}.");

    private sealed class FormerDraftValidator : AbstractValidator<EventDraft>
    {
        public FormerDraftValidator()
        {
            RuleLevelCascadeMode = CascadeMode.Stop;
            FormerType(RuleFor(x => x.Type));
            RuleFor(x => x.StepId).NotEqual(Guid.Empty).WithMessage("'stepId' must be a step id.");
            RuleFor(x => x.Payload).OptionalJsonObject("payload", EventLimits.MaxPayloadBytes);
        }
    }

    private sealed class FormerEmitEventValidator : AbstractValidator<EmitEventCommand>
    {
        public FormerEmitEventValidator()
        {
            RuleLevelCascadeMode = CascadeMode.Stop;
            RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
            FormerType(RuleFor(x => x.Type));
            RuleFor(x => x.StepId).NotEqual(Guid.Empty).WithMessage("'stepId' must be a step id.");
            RuleFor(x => x.Payload).OptionalJsonObject("payload", EventLimits.MaxPayloadBytes);
            RuleFor(x => x.IdempotencyKey).ValidIdempotencyKey();
        }
    }

    private sealed class FormerBatchValidator : AbstractValidator<EmitEventBatchCommand>
    {
        public FormerBatchValidator()
        {
            RuleLevelCascadeMode = CascadeMode.Stop;
            RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
            RuleFor(x => x.Events).NotEmpty().WithMessage("'events' must hold at least one event.")
                .Must(e => e!.Count <= EventLimits.MaxBatchEvents).WithMessage($"'events' may hold at most {EventLimits.MaxBatchEvents} events.");
            RuleForEach(x => x.Events).NotNull().WithMessage("Each event must be a JSON object.")
                .SetValidator(new FormerDraftValidator()!);
            RuleFor(x => x.IdempotencyKey).ValidIdempotencyKey();
        }
    }
}
