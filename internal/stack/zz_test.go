package stack
import ("testing";"context";"os";"path/filepath")
func TestHang(t *testing.T){
 data,_ := os.ReadFile("/tmp/hang.yaml")
 dir := t.TempDir(); p := filepath.Join(dir, "compose.yaml"); os.WriteFile(p, data, 0o644)
 _, _, err := Load(context.Background(), LoadOptions{Files: []string{p}, LookupEnv: env(), ProjectName: "fuzz"})
 t.Log(err)
}
