// Mono.Cecil's definitions and assembly resolver are not thread-safe, and all test classes share the cached ones.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
