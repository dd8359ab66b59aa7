using System.Collections.Frozen;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Json;

namespace JobTrail.BuildingBlocks;

/// <summary>
/// The moves a status may make; a status with no moves is terminal. A refused move is a 409 that names
/// what the thing is and, unless it is final, where it may go instead.
/// </summary>
public sealed class StateMachine<TStatus> where TStatus : struct, Enum
{
    private readonly FrozenDictionary<TStatus, TStatus[]> allowed;
    private readonly string noun;
    private readonly string terminalCode;

    /// <param name="noun">What moves, as the messages name it: "job", "step".</param>
    /// <param name="terminalCode">The problem code for a move out of a terminal status.</param>
    /// <param name="allowed">Every status with the statuses it may become, in the order the messages list them.</param>
    public StateMachine(string noun, string terminalCode, IReadOnlyDictionary<TStatus, TStatus[]> allowed)
    {
        // A status left out would surface as a KeyNotFoundException on some request; refuse it when the rules are built.
        var missing = Enum.GetValues<TStatus>().Where(s => !allowed.ContainsKey(s)).Select(EnumText.Spell).ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException($"The {noun} transitions do not say where {string.Join(", ", missing)} may go.", nameof(allowed));
        }

        this.allowed = allowed.ToFrozenDictionary();
        this.noun = noun;
        this.terminalCode = terminalCode;
    }

    public bool IsTerminal(TStatus status) => allowed[status].Length == 0;

    public bool CanMove(TStatus from, TStatus to) => allowed[from].Contains(to);

    public void EnsureAllowed(TStatus from, TStatus to)
    {
        if (CanMove(from, to))
        {
            return;
        }

        throw IsTerminal(from)
            ? new ConflictException($"The {noun} is {EnumText.Spell(from)}, which is final; it cannot become {EnumText.Spell(to)}.", terminalCode)
            : new ConflictException(
                $"A {EnumText.Spell(from)} {noun} cannot become {EnumText.Spell(to)}; it may become {string.Join(" or ", allowed[from].Select(EnumText.Spell))}.",
                "invalid_transition");
    }
}
