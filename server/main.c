/* placeholder, replaced by the real daemon entry point */
int main(void);
int main(void) { return 1; }
