// Seed; replaced by the module's owner.
