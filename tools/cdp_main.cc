// Placeholder until the server lands; replaced below.
int main() { return 0; }
