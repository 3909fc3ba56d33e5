import Testing

// Seed; replaced by the module owner.
